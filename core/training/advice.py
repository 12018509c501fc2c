"""Which fine-tuning method a training set's size points to, after Zhang et al. (ICLR 2024)."""

from __future__ import annotations

ADVICE_CITATION = (
    "Zhang, Liu, Cherry and Firat, 'When Scaling Meets LLM Finetuning: The Effect of Data, Model and Finetuning "
    "Method', ICLR 2024"
)
P_TUNING_BELOW = 5_000  # "a few thousand samples"
FULL_FINETUNING_FROM = 500_000  # "around a million" (half way, on a log scale, from tens of thousands)
DEFAULT_METHOD = "lora"


def method_advice(n_samples: int) -> dict:
    """Which fine-tuning method the training set's size points to, after Zhang et al. (ICLR 2024).

    Their scaling study finds parameter-efficient methods ahead when data is scarce and full fine-tuning gaining the
    most from more data. Read as a rule of thumb: a few thousand samples suit P-tuning (prompt tuning), thousands to
    tens of thousands LoRA, around a million full fine-tuning. Winnow's own recommendation is LoRA by default.

    Returns:
        {"samples", "method" ("p-tuning", "lora" or "full"), "default" ("lora"), "why", "citation"}.
    """
    n = int(n_samples)
    if n < P_TUNING_BELOW:
        method, band = "p-tuning", f"a few thousand samples or fewer (under {P_TUNING_BELOW:,})"
    elif n < FULL_FINETUNING_FROM:
        method, band = (
            "lora",
            f"thousands to tens of thousands of samples ({P_TUNING_BELOW:,} to {FULL_FINETUNING_FROM - 1:,})",
        )
    else:
        method, band = "full", f"around a million samples ({FULL_FINETUNING_FROM:,} or more)"
    names = {"p-tuning": "P-tuning", "lora": "LoRA", "full": "full fine-tuning"}
    why = (
        f"{n:,} training samples is {band}: the paper's scaling results point to {names[method]}. "
        "Winnow's default is LoRA."
    )
    return {"samples": n, "method": method, "default": DEFAULT_METHOD, "why": why, "citation": ADVICE_CITATION}
