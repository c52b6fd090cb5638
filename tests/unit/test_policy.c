/* test_policy.c: the access policy file and its decisions
 * (src/server/policy.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "policy.h"

static int parse(const char *text, struct policy **p, char *err, size_t errsz)
{
	return policy_parse(text, strlen(text), "policy.conf", p, err, errsz);
}

static void test_default_file_parses(void **state)
{
	struct policy *p = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(policy_default_text(), &p, err, sizeof(err)), 0);
	assert_int_equal(p->max_duration_s, 14400);
	assert_int_equal(p->idle_timeout_s, 900);
	assert_int_equal(p->approval_timeout_s, 86400);
	policy_free(p);
}

static void test_levels_build_on_each_other(void **state)
{
	struct policy *p = NULL;
	char err[256];

	(void)state;
	assert_int_equal(parse(policy_default_text(), &p, err, sizeof(err)), 0);
	/* level 1: status, data files, the screen service */
	assert_true(policy_allows(p, "specialist", 1, "session:request"));
	assert_true(policy_allows(p, "specialist", 1, "forward:screen"));
	assert_true(policy_allows(p, "specialist", 1, "files:read"));
	assert_true(policy_allows(p, "specialist", 1, "diag:status"));
	assert_false(policy_allows(p, "specialist", 1, "forward:http"));
	assert_false(policy_allows(p, "specialist", 1, "files:write"));
	assert_false(policy_allows(p, "specialist", 1, "diag:selftest"));
	assert_false(policy_allows(p, "specialist", 1, "shell"));
	/* level 2: every service, upload, every diagnostic */
	assert_true(policy_allows(p, "specialist", 2, "forward:http"));
	assert_true(policy_allows(p, "specialist", 2, "forward:screen"));
	assert_true(policy_allows(p, "specialist", 2, "files:write"));
	assert_true(policy_allows(p, "specialist", 2, "diag:selftest"));
	assert_false(policy_allows(p, "specialist", 2, "shell"));
	/* level 3: a shell */
	assert_true(policy_allows(p, "specialist", 3, "shell"));
	assert_true(policy_allows(p, "specialist", 3, "forward:dicom"));
	/* no level reaches patient records by default */
	for (int l = 1; l <= 3; l++)
		assert_false(policy_allows(p, "specialist", l, "patient_records"));
	/* a level outside 1..3 has nothing */
	assert_false(policy_allows(p, "specialist", 4, "devices:view"));
	assert_false(policy_allows(p, "specialist", 0, "devices:view"));
	policy_free(p);
}

static void test_other_roles(void **state)
{
	struct policy *p = NULL;
	char err[256];

	(void)state;
	assert_int_equal(parse(policy_default_text(), &p, err, sizeof(err)), 0);
	assert_true(policy_allows(p, "customer_approver", 0, "approvals:decide"));
	assert_true(policy_allows(p, "customer_approver", 0, "site:switch"));
	assert_true(policy_allows(p, "customer_approver", 0, "session:end:site"));
	assert_false(policy_allows(p, "customer_approver", 0, "session:request"));
	assert_true(policy_allows(p, "customer_viewer", 0, "approvals:view"));
	assert_false(policy_allows(p, "customer_viewer", 0, "approvals:decide"));
	assert_false(policy_allows(p, "customer_viewer", 0, "site:switch"));
	assert_true(policy_allows(p, "administrator", 1, "session:end:any"));
	assert_false(policy_allows(p, "administrator", 1, "session:request"));
	assert_true(policy_allows(p, "auditor", 1, "audit:read"));
	assert_false(policy_allows(p, "auditor", 1, "session:request"));
	assert_true(policy_allows(p, "release_manager", 1, "advisories:view"));
	assert_false(policy_allows(p, "release_manager", 1, "session:request"));
	assert_false(policy_allows(p, "nobody", 1, "devices:view"));
	assert_true(policy_role_valid("customer_viewer"));
	assert_false(policy_role_valid("root"));
	assert_true(policy_role_is_customer("customer_approver"));
	assert_false(policy_role_is_customer("administrator"));
	policy_free(p);
}

static void test_wildcards_and_files(void **state)
{
	struct policy *p = NULL;
	char err[256];

	(void)state;
	assert_int_equal(parse("role.specialist.1 = forward:http files:write diag:*\n"
	                       "role.auditor = forward:*\n", &p, err, sizeof(err)), 0);
	assert_true(policy_allows(p, "specialist", 1, "forward:http"));
	assert_false(policy_allows(p, "specialist", 1, "forward:ssh"));
	assert_true(policy_allows(p, "specialist", 1, "files:read"));   /* write grants read */
	assert_true(policy_allows(p, "specialist", 1, "diag:anything"));
	assert_true(policy_allows(p, "auditor", 0, "forward:ssh"));
	assert_false(policy_allows(p, "auditor", 0, "files:read"));
	/* roles left out hold nothing */
	assert_false(policy_allows(p, "specialist", 2, "forward:http"));
	/* numbers default when left out */
	assert_int_equal(p->max_duration_s, POLICY_MAX_DURATION_S);
	policy_free(p);
}

static void test_region_rules(void **state)
{
	struct policy *p = NULL;
	const struct policy_region *r;
	char err[256], why[256];

	(void)state;
	assert_int_equal(parse(policy_default_text(), &p, err, sizeof(err)), 0);
	r = policy_region_rule(p, "US");
	assert_string_equal(r->code, "US");
	for (int l = 1; l <= 3; l++)
		assert_int_equal(policy_region_check(r, "US", l, 0, why, sizeof(why)), 0);
	r = policy_region_rule(p, "CA");
	assert_int_equal(r->notice_s, 3600);
	assert_int_equal(policy_region_check(r, "CA", 2, 1, why, sizeof(why)), TE_ERR_DENIED);
	assert_non_null(strstr(why, "only at level 3"));
	assert_int_equal(policy_region_check(r, "CA", 3, 0, why, sizeof(why)), TE_ERR_DENIED);
	assert_non_null(strstr(why, "escalation"));
	assert_int_equal(policy_region_check(r, "CA", 3, 1, why, sizeof(why)), 0);
	r = policy_region_rule(p, "DE");
	assert_string_equal(r->code, "default");
	assert_int_equal(policy_region_check(r, "DE", 3, 1, why, sizeof(why)), TE_ERR_DENIED);
	assert_non_null(strstr(why, "region DE"));
	r = policy_region_rule(p, "");
	assert_int_equal(policy_region_check(r, "", 3, 1, why, sizeof(why)), TE_ERR_DENIED);
	policy_free(p);

	/* Without region.default, unknown regions are refused too. */
	assert_int_equal(parse("region.DE = allow levels=2\n", &p, err, sizeof(err)), 0);
	assert_int_equal(policy_region_check(policy_region_rule(p, "US"), "US", 1, 0, why,
	                                     sizeof(why)), TE_ERR_DENIED);
	assert_int_equal(policy_region_check(policy_region_rule(p, "DE"), "DE", 2, 0, why,
	                                     sizeof(why)), 0);
	policy_free(p);
}

/* Each bad file is refused with its line number and what is wrong. */
static void test_bad_files_name_their_line(void **state)
{
	static const struct { const char *text, *msg; } bad[] = {
		{ "# ok\nrole.specialist.1 = shel\n", "policy.conf:2: role.specialist.1: unknown"
		  " permission 'shel'" },
		{ "role.specialist.2 = @specialist.1\nrole.specialist.1 = shell\n",
		  "policy.conf:1: role.specialist.2: @specialist.1 must name a role defined on an"
		  " earlier line" },
		{ "role.auditor = @boss\n", "policy.conf:1: role.auditor: @boss is not a role" },
		{ "\n\nrole.janitor = shell\n", "policy.conf:3: unknown key 'role.janitor'" },
		{ "region.USA = allow\n", "policy.conf:1: region.USA: a region is a two-letter" },
		{ "region.us = allow\n", "policy.conf:1: region.us: a region is a two-letter" },
		{ "region.CA = maybe\n", "policy.conf:1: region.CA: a rule starts with allow" },
		{ "region.CA =\n", "policy.conf:1: region.CA: a rule starts with allow" },
		{ "region.CA = allow levels=4\n", "policy.conf:1: region.CA: levels must be" },
		{ "region.CA = allow levels=1,\n", "policy.conf:1: region.CA: levels must be" },
		{ "region.CA = allow notice_s=0\n", "policy.conf:1: region.CA: notice_s must be" },
		{ "region.CA = deny levels=3\n", "policy.conf:1: region.CA: deny takes no further" },
		{ "region.CA = allow soon\n", "policy.conf:1: region.CA: unknown word 'soon'" },
		{ "session.max_duration_s = 9\n", "policy.conf:1: session.max_duration_s must be" },
		{ "approval.timeout_s = x\n", "policy.conf:1: approval.timeout_s must be" },
		{ "role.auditor = forward:a/b\n", "policy.conf:1: role.auditor: unknown permission" },
		{ "role.auditor = x\nrole.auditor = y\n", "policy.conf:2: duplicate key" },
	};
	struct policy *p = NULL;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_not_equal(parse(bad[i].text, &p, err, sizeof(err)), 0);
		assert_null(p);
		if (strncmp(err, bad[i].msg, strlen(bad[i].msg)) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, bad[i].msg);
	}
}

static void test_vocabulary(void **state)
{
	(void)state;
	assert_true(policy_perm_valid("forward:http"));
	assert_true(policy_perm_valid("forward:*"));
	assert_true(policy_perm_valid("diag:self-test"));
	assert_true(policy_perm_valid("patient_records"));
	assert_true(policy_perm_valid("session:end:site"));
	assert_false(policy_perm_valid("forward:"));
	assert_false(policy_perm_valid("forward:a b"));
	assert_false(policy_perm_valid("diag:**"));
	assert_false(policy_perm_valid("files:delete"));
	assert_false(policy_perm_valid(""));
	assert_true(policy_approval_mode_ok("escalations"));
	assert_false(policy_approval_mode_ok("some"));
}

static void test_matrix_json(void **state)
{
	struct policy *p = NULL;
	char err[256];
	json_t *j, *roles;

	(void)state;
	assert_int_equal(parse(policy_default_text(), &p, err, sizeof(err)), 0);
	j = policy_json(p);
	assert_non_null(j);
	roles = json_object_get(j, "roles");
	assert_int_equal(json_array_size(roles), POLICY_N_ROLES);
	assert_string_equal(json_string_value(json_object_get(json_array_get(roles, 2), "role")),
	                    "specialist");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(roles, 2), "level")), 3);
	/* level 3 holds level 1's permissions through @specialist.2 */
	assert_true(json_array_size(json_object_get(json_array_get(roles, 2), "permissions")) >
	            json_array_size(json_object_get(json_array_get(roles, 0), "permissions")));
	assert_int_equal(json_array_size(json_object_get(j, "regions")), 3);
	json_decref(j);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_file_parses),
		cmocka_unit_test(test_levels_build_on_each_other),
		cmocka_unit_test(test_other_roles),
		cmocka_unit_test(test_wildcards_and_files),
		cmocka_unit_test(test_region_rules),
		cmocka_unit_test(test_bad_files_name_their_line),
		cmocka_unit_test(test_vocabulary),
		cmocka_unit_test(test_matrix_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
