"""Team work: who may do what, accounts and sign-in, assignments and reviews, a sample's history."""
