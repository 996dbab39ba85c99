"""Built-in roles as permission sets (`model/role.go MakeDefaultRoles`), trimmed to the
permissions the modelled endpoints consult. `system_admin` holds every permission.
"""

from __future__ import annotations

ALL = "*"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "system_admin": frozenset({ALL}),
    "system_user": frozenset(
        {
            "create_team",
            "list_public_teams",
            "join_public_teams",
            "create_direct_channel",
            "create_group_channel",
            "view_members",
        }
    ),
    "system_guest": frozenset({"create_direct_channel", "create_group_channel"}),
    # sysconsole_read_about_edition_and_license → ancillary read_license_information only.
    "system_manager": frozenset(
        {
            "read_license_information",
            "sysconsole_read_about_edition_and_license",
            "sysconsole_read_environment",
            "sysconsole_read_site",
        }
    ),
    "system_read_only_admin": frozenset(
        {
            "read_license_information",
            "sysconsole_read_about_edition_and_license",
            "sysconsole_read_environment",
            "sysconsole_read_site",
        }
    ),
    "system_user_manager": frozenset({"sysconsole_read_user_management_users"}),
    "system_user_access_token": frozenset(
        {"create_user_access_token", "read_user_access_token", "revoke_user_access_token"}
    ),
    "system_post_all": frozenset({"create_post"}),
    "system_post_all_public": frozenset({"create_post_public"}),
    "team_user": frozenset(
        {
            "read_public_channel",
            "view_team",
            "list_team_channels",
            "join_public_channels",
            "create_public_channel",
            "create_private_channel",
            "invite_user",
            "add_user_to_team",
        }
    ),
    "team_guest": frozenset({"view_team"}),
    "team_admin": frozenset(
        {
            "manage_team",
            "remove_user_from_team",
            "manage_team_roles",
            "delete_post",
            "delete_others_posts",
            "manage_public_channel_members",
            "manage_private_channel_members",
            "add_user_to_team",
            "manage_channel_roles",
        }
    ),
    "channel_user": frozenset(
        {
            "read_channel",
            "read_channel_content",
            "upload_file",
            "get_public_link",
            "edit_file_attachment",
            "create_post",
            "edit_post",
            "delete_post",
            "manage_public_channel_members",
            "manage_private_channel_members",
            "delete_public_channel",
            "delete_private_channel",
            "use_channel_mentions",
            "add_reaction",
        }
    ),
    "channel_guest": frozenset(
        {
            "read_channel",
            "read_channel_content",
            "upload_file",
            "edit_file_attachment",
            "create_post",
            "edit_post",
            "use_channel_mentions",
            "add_reaction",
        }
    ),
    "channel_admin": frozenset({"manage_channel_roles", "use_group_mentions"}),
}

SYSTEM_ROLES = frozenset(r for r in ROLE_PERMISSIONS if r.startswith("system_"))


def roles_grant(roles: str, permission: str) -> bool:
    """True if any space-separated role in `roles` holds `permission`."""
    for role in roles.split():
        perms = ROLE_PERMISSIONS.get(role)
        if perms is not None and (ALL in perms or permission in perms):
            return True
    return False


def valid_user_roles(roles: str) -> bool:
    """`model.IsValidUserRoles`: known system roles, including system_user or system_guest."""
    parts = roles.split()
    if not parts or any(p not in SYSTEM_ROLES for p in parts):
        return False
    return "system_user" in parts or "system_guest" in parts
