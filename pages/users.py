"""Users (admins): the workspace's accounts, their roles, new accounts, password resets, disabling."""

from dataclasses import asdict
from pathlib import Path

import streamlit as st

from core.backup import backup_workspace, default_backup_path
from core.errors import WinnowError
from core.team import accounts, roles
from pages import _common

store = _common.current_store()
_common.require("users", "Managing accounts")
me = _common.acting_user()

st.title("Users")
if saved := st.session_state.pop("users_saved", None):
    st.success(saved)
st.caption(
    "admin: everything, accounts and workspaces · lead: import, score, map, label, select, export, assign · "
    "annotator: reviews the samples assigned to them"
)
people = store.users()
st.dataframe(
    [{**u, "disabled": "yes" if u["disabled"] else ""} for u in people],
    hide_index=True,
    key="users_table",
    column_config={"created_at": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm")},
)

left, right = st.columns(2)
with left, st.form("user_add", clear_on_submit=True):
    st.subheader("Add an account")
    name = st.text_input("Name", key="user_add_name")
    role = st.selectbox("Role", roles.ROLES, index=2, key="user_add_role")
    password = st.text_input(
        "Initial password",
        type="password",
        key="user_add_password",
        help=f"at least {accounts.MIN_PASSWORD} characters",
    )
    if st.form_submit_button("Add", type="primary"):
        try:
            added = accounts.add_user(store, name, role, password, by=me)
        except WinnowError as ex:
            _common.show_error(ex)
        else:
            st.success(f"Added {added.name} ({added.role}). Give them the password in person; they can change it.")

with right:
    st.subheader("Change an account")
    names = [u["name"] for u in people]
    who = st.selectbox("Account", names, key="user_edit_name")
    current = next((u for u in people if u["name"] == who), None)
    if current:
        # Keys per account: a keyed widget keeps its value when its default changes, so shared keys would carry one
        # account's role and disabled flag over to the next one chosen, and Save would apply them to it.
        new_role = st.selectbox(
            "Role", roles.ROLES, index=roles.ROLES.index(current["role"]), key=f"user_edit_role_{who}"
        )
        password_key = f"user_edit_password_{who}"
        new_password = st.text_input("New password (blank: unchanged)", type="password", key=password_key)
        disabled = st.checkbox(
            "Disabled (cannot sign in)", value=bool(current["disabled"]), key=f"user_edit_disabled_{who}"
        )
        if st.button("Save changes", key="user_edit_save"):
            try:  # one transaction: a refused change (say, disabling the last admin) changes nothing at all
                accounts.update_account(
                    store,
                    who,
                    by=me,
                    role=new_role if new_role != current["role"] else None,
                    password=new_password or None,
                    disabled=disabled if disabled != bool(current["disabled"]) else None,
                )
            except WinnowError as ex:
                _common.show_error(ex)
            else:
                st.session_state.pop(password_key, None)  # not kept for the next save
                st.session_state["users_saved"] = f"Saved {who}; their open sessions ended."
                st.rerun()

# ---------------------------------------------------------------------------------------------------- backup

st.divider()
st.subheader("Backup")
st.caption(
    "A consistent copy of the whole workspace (samples, history, scores, map, selections, accounts) in one DuckDB "
    "file, taken while everyone keeps working: it opens as a workspace of its own."
)
b1, b2 = st.columns([3, 1], vertical_alignment="bottom")
st.session_state.setdefault("backup_out", str(default_backup_path(store.path)))
out = b1.text_input("Backup file", key="backup_out", help="A new file; an existing one is replaced only if ticked")
replace = b2.checkbox("Replace it", key="backup_force") if Path(out).exists() else False
if st.button("Back up now", type="primary", key="backup_go", disabled=_common.job_running(store, "backup_job")):

    def work(progress):
        return asdict(backup_workspace(store, out, user=me, force=replace))

    _common.start_job(store, "backup_job", "backup", {"out": out}, work, user=me)
finished = _common.job_panel(store, "backup_job", "Backing up")
if finished is not None and (report := _common.job_result(finished)) is not None:
    st.success(f"Backed up {report['samples']:,} samples to `{report['path']}` ({report['bytes'] / 1e6:.1f} MB).")
    if st.session_state.get("backup_seen") != finished["job_id"]:  # the next backup gets a fresh name
        st.session_state["backup_seen"] = finished["job_id"]
        del st.session_state["backup_out"]
        st.rerun()
