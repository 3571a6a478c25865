/* mkey: the command-line client of mkeyd. Each command group lives in
 * cli/cmd_<group>.c; this table is the only place that lists them. */
#include "cli.h"

static const struct cli_command commands[] = {
    {"admin", cmd_admin, "platform operator commands (login with the operator token)",
     cmd_admin_usage},
    {"ca", cmd_ca, "certificate authorities: list, chains, CRLs; issue and revoke (operator)",
     cmd_ca_usage},
    {"cache", cmd_cache, "clear what this profile cached (never keys or the session)",
     cmd_cache_usage},
    {"help", cmd_help, "show the commands, or the usage of one", cmd_help_usage},
    {"help-center", cmd_help_center, "help articles and 智能客服: search TEXT, show ID",
     cmd_help_center_usage},
    {"keytool", cmd_keytool, "split, sign and decrypt with a two-party key, both halves here",
     cmd_keytool_usage},
    {"login", cmd_login, "log in with a phone number and an SMS code or password", cmd_login_usage},
    {"logout", cmd_logout, "end this profile's session", cmd_logout_usage},
    {"me", cmd_me, "我的: identity, platform, roles, next step, shortcuts", cmd_me_usage},
    {"password", cmd_password, "set, change or reset (by SMS) the login password",
     cmd_password_usage},
    {"phone", cmd_phone, "change the account's phone number", cmd_phone_usage},
    {"platform", cmd_platform, "trading platforms: list, nearest, use", cmd_platform_usage},
    {"profile", cmd_profile, "list profiles, show one, set its server", cmd_profile_usage},
    {"realname", cmd_realname, "verify your real name (cfca, alipay, bankcard)",
     cmd_realname_usage},
    {"status", cmd_status, "check that the server is up and healthy", cmd_status_usage},
    {"version", cmd_version, "print the version of mkey", cmd_version_usage},
    {"wechat", cmd_wechat, "log in with WeChat (bound to a phone number at first use)",
     cmd_wechat_usage},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv) { return cli_main(commands, argc, (const char **)argv); }
