/* test_srvsession.c: the session state machine, the ping body parser and the
 * ticket action list (src/server/srvsession.c, srvping.c, tickets.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "err.h"
#include "srvping.h"
#include "srvsession.h"
#include "tickets.h"

static void test_state_names_round_trip(void **state)
{
	for (int s = SESSION_AWAITING_CONSENT; s <= SESSION_AWAITING_CUSTOMER; s++) {
		enum session_state back;
		assert_int_equal(session_state_parse(session_state_name(s), &back), 0);
		assert_int_equal((int)back, s);
	}
	enum session_state x;
	assert_int_equal(session_state_parse("bogus", &x), TE_ERR_INVALID);
}

static void test_legal_moves_only(void **state)
{
	assert_true(session_transition_ok(SESSION_AWAITING_CONSENT, SESSION_CONSENTED));
	assert_true(session_transition_ok(SESSION_AWAITING_CONSENT, SESSION_REFUSED));
	assert_true(session_transition_ok(SESSION_AWAITING_CONSENT, SESSION_EXPIRED));
	assert_true(session_transition_ok(SESSION_CONSENTED, SESSION_ACTIVE));
	assert_true(session_transition_ok(SESSION_CONSENTED, SESSION_ENDED));
	assert_true(session_transition_ok(SESSION_ACTIVE, SESSION_ENDED));
	assert_false(session_transition_ok(SESSION_AWAITING_CONSENT, SESSION_ACTIVE));
	assert_false(session_transition_ok(SESSION_ACTIVE, SESSION_CONSENTED));
	assert_false(session_transition_ok(SESSION_REFUSED, SESSION_CONSENTED));
	assert_false(session_transition_ok(SESSION_ENDED, SESSION_ACTIVE));
	assert_false(session_transition_ok(SESSION_EXPIRED, SESSION_ENDED));
	/* The customer's step comes before the operator's, never after. */
	assert_true(session_transition_ok(SESSION_AWAITING_CUSTOMER, SESSION_AWAITING_CONSENT));
	assert_true(session_transition_ok(SESSION_AWAITING_CUSTOMER, SESSION_REFUSED));
	assert_true(session_transition_ok(SESSION_AWAITING_CUSTOMER, SESSION_EXPIRED));
	assert_true(session_transition_ok(SESSION_AWAITING_CUSTOMER, SESSION_ENDED));
	assert_false(session_transition_ok(SESSION_AWAITING_CUSTOMER, SESSION_CONSENTED));
	assert_false(session_transition_ok(SESSION_AWAITING_CUSTOMER, SESSION_ACTIVE));
	assert_false(session_transition_ok(SESSION_AWAITING_CONSENT, SESSION_AWAITING_CUSTOMER));
}

static void test_due_timeouts(void **state)
{
	struct session_limits lim = { 120, 90, 3600 };
	struct store_session s;
	enum session_state to;
	char why[128];

	memset(&s, 0, sizeof(s));
	snprintf(s.state, sizeof(s.state), "awaiting_consent");
	s.created_at = 500;    /* the operator's clock starts when it reached them */
	s.updated_at = 1000;
	assert_false(session_due(&s, 1000 + 120, &lim, &to, why, sizeof(why)));
	assert_true(session_due(&s, 1000 + 120 + SESSION_CONSENT_GRACE_S, &lim, &to, why, sizeof(why)));
	assert_int_equal(to, SESSION_EXPIRED);
	assert_string_equal(why, "no answer from the operator within 120 s");

	snprintf(s.state, sizeof(s.state), "consented");
	s.updated_at = 2000;
	assert_false(session_due(&s, 2089, &lim, &to, why, sizeof(why)));
	assert_true(session_due(&s, 2090, &lim, &to, why, sizeof(why)));
	assert_int_equal(to, SESSION_ENDED);

	snprintf(s.state, sizeof(s.state), "active");
	s.started_at = 3000;
	assert_false(session_due(&s, 3000 + 3599 + SESSION_END_GRACE_S, &lim, &to, why,
	                         sizeof(why)));
	assert_true(session_due(&s, 3000 + 3600 + SESSION_END_GRACE_S, &lim, &to, why,
	                        sizeof(why)));
	assert_int_equal(to, SESSION_ENDED);
	assert_non_null(strstr(why, "maximum session duration"));

	/* A session granted a shorter maximum by the policy ends then. */
	s.max_s = 600;
	assert_false(session_due(&s, 3000 + 599 + SESSION_END_GRACE_S, &lim, &to, why,
	                         sizeof(why)));
	assert_true(session_due(&s, 3000 + 600 + SESSION_END_GRACE_S, &lim, &to, why,
	                        sizeof(why)));
	assert_string_equal(why, "maximum session duration of 600 s reached");

	snprintf(s.state, sizeof(s.state), "ended");
	assert_false(session_due(&s, 999999, &lim, &to, why, sizeof(why)));
}

static void test_due_customer_window(void **state)
{
	struct session_limits lim = { 120, 90, 3600 };
	struct store_session s;
	enum session_state to;
	char why[128];

	memset(&s, 0, sizeof(s));
	snprintf(s.state, sizeof(s.state), "awaiting_customer");
	snprintf(s.customer, sizeof(s.customer), "notice");
	s.created_at = 1000;
	s.customer_deadline = 1060;
	/* Not even the operator's consent timeout applies while it waits. */
	assert_false(session_due(&s, 1059, &lim, &to, why, sizeof(why)));
	assert_true(session_due(&s, 1060, &lim, &to, why, sizeof(why)));
	assert_int_equal(to, SESSION_AWAITING_CONSENT);
	assert_non_null(strstr(why, "did not refuse"));

	snprintf(s.customer, sizeof(s.customer), "approval");
	s.customer_deadline = 5000;
	assert_false(session_due(&s, 4999, &lim, &to, why, sizeof(why)));
	assert_true(session_due(&s, 5000, &lim, &to, why, sizeof(why)));
	assert_int_equal(to, SESSION_EXPIRED);
	assert_non_null(strstr(why, "no approval from the customer"));
}

static void test_session_ids_are_128_bit_hex(void **state)
{
	char a[STORE_SESSION_ID_BYTES], b[STORE_SESSION_ID_BYTES];

	assert_int_equal(session_id_new(a), 0);
	assert_int_equal(session_id_new(b), 0);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "0123456789abcdef"), 32);
	assert_string_not_equal(a, b);
}

static int parse(const char *s, struct ping_req *p)
{
	return ping_parse_request(s, strlen(s), p);
}

/* "diags" and "files": unique names, at most PING_MAX_OFFERS; absent is
 * "not reported", not "none". */
static void test_ping_offers(void **state)
{
	struct ping_req p;
	char out[STORE_OFFERS_BYTES], big[2048];
	size_t len;

	(void)state;
	assert_int_equal(parse("{\"diags\":[\"uptime\",\"df\"],\"files\":[]}", &p), 0);
	assert_true(p.diags.present);
	assert_int_equal(p.diags.n, 2);
	assert_string_equal(p.diags.name[1], "df");
	assert_true(p.files.present);
	assert_int_equal(p.files.n, 0);
	assert_int_equal(ping_names_json(&p.diags, out, sizeof(out)), 0);
	assert_string_equal(out, "[\"uptime\",\"df\"]");
	assert_int_equal(ping_names_json(&p.files, out, sizeof(out)), 0);
	assert_string_equal(out, "[]");
	assert_int_equal(parse("{}", &p), 0);
	assert_false(p.diags.present);
	assert_false(p.files.present);
	assert_int_not_equal(parse("{\"diags\":[\"a\",\"a\"]}", &p), 0);
	assert_int_not_equal(parse("{\"files\":\"logs\"}", &p), 0);
	assert_int_not_equal(parse("{\"files\":[\"../etc\"]}", &p), 0);
	assert_int_not_equal(parse("{\"diags\":[7]}", &p), 0);
	len = (size_t)snprintf(big, sizeof(big), "{\"diags\":[");
	for (int i = 0; i <= PING_MAX_OFFERS; i++)
		len += (size_t)snprintf(big + len, sizeof(big) - len, "%s\"d%d\"", i ? "," : "", i);
	snprintf(big + len, sizeof(big) - len, "]}");
	assert_int_equal(parse(big, &p), TE_ERR_TOO_LONG);
	assert_false(p.diags.present);
}

static void test_ping_parse(void **state)
{
	struct ping_req p;
	char svcs[256];

	assert_int_equal(parse("{\"version\":\"0.1.0\",\"status\":\"ok\",\"wait\":true,"
	                       "\"services\":[{\"name\":\"http\",\"port\":8080}]}", &p), 0);
	assert_string_equal(p.version, "0.1.0");
	assert_true(p.wait);
	assert_true(p.has_services);
	assert_int_equal(p.n_services, 1);
	assert_int_equal(p.services[0].port, 8080);
	assert_int_equal(ping_services_json(&p, svcs, sizeof(svcs)), 0);
	assert_string_equal(svcs, "[{\"name\":\"http\",\"port\":8080}]");

	assert_int_equal(parse("{}", &p), 0);
	assert_false(p.wait);
	assert_false(p.has_services);

	assert_int_not_equal(parse("", &p), 0);
	assert_int_not_equal(parse("[]", &p), 0);
	assert_int_not_equal(parse("{\"wait\":\"yes\"}", &p), 0);
	assert_int_not_equal(parse("{\"services\":[{\"name\":\"a b\",\"port\":1}]}", &p), 0);
	assert_int_not_equal(parse("{\"services\":[{\"name\":\"a\",\"port\":0}]}", &p), 0);
	assert_int_not_equal(parse("{\"services\":[{\"name\":\"a\",\"port\":1},"
	                           "{\"name\":\"a\",\"port\":2}]}", &p), 0);
	assert_int_not_equal(parse("{\"version\":\"a\",\"version\":\"b\"}", &p), 0);
}

/* The agent's "sessions" (reconcile) and "ended" (end reports). */
static void test_ping_parse_sessions_ended(void **state)
{
	struct ping_req p;
	char body[8192];
	size_t n;

	assert_int_equal(parse("{\"sessions\":[\"abc\",\"def\"],\"ended\":[{\"session\":"
	                       "\"abc\",\"reason\":\"agent restarted\"}]}", &p), 0);
	assert_true(p.has_sessions);
	assert_int_equal(p.n_sessions, 2);
	assert_string_equal(p.sessions[1], "def");
	assert_int_equal(p.n_ended, 1);
	assert_string_equal(p.ended[0].session, "abc");
	assert_string_equal(p.ended[0].reason, "agent restarted");
	assert_int_equal(parse("{\"sessions\":[]}", &p), 0);
	assert_true(p.has_sessions);
	assert_int_equal(p.n_sessions, 0);
	assert_int_equal(parse("{}", &p), 0);
	assert_false(p.has_sessions);
	assert_int_equal(p.n_ended, 0);

	assert_int_not_equal(parse("{\"sessions\":\"abc\"}", &p), 0);
	assert_int_not_equal(parse("{\"sessions\":[\"a b\"]}", &p), 0);
	assert_int_not_equal(parse("{\"sessions\":[1]}", &p), 0);
	assert_int_not_equal(parse("{\"ended\":[{\"session\":\"abc\"}]}", &p), 0);
	assert_int_not_equal(parse("{\"ended\":[{\"session\":\"abc\",\"reason\":\"\"}]}", &p), 0);
	assert_int_not_equal(parse("{\"ended\":[{\"session\":\"abc\",\"reason\":\"x\","
	                           "\"more\":1}]}", &p), 0);
	assert_int_not_equal(parse("{\"ended\":[{\"session\":\"abc\",\"reason\":"
	                           "\"a\\u202eb\"}]}", &p), 0);
	n = (size_t)snprintf(body, sizeof(body), "{\"sessions\":[");
	for (int i = 0; i <= PING_MAX_SESSIONS; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"s%d\"", i ? "," : "", i);
	snprintf(body + n, sizeof(body) - n, "]}");
	assert_int_equal(parse(body, &p), TE_ERR_TOO_LONG);
}

static void test_ping_refuses_too_many_services(void **state)
{
	char body[4096];
	size_t n = (size_t)snprintf(body, sizeof(body), "{\"services\":[");
	struct ping_req p;

	for (int i = 0; i <= MAX_SERVICES; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%s{\"name\":\"s%d\",\"port\":%d}",
		                      i ? "," : "", i, i + 1);
	snprintf(body + n, sizeof(body) - n, "]}");
	assert_int_equal(parse(body, &p), TE_ERR_TOO_LONG);
}

#define H64(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
                c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

static void test_ping_parse_audit_head(void **state)
{
	struct ping_req p;

	assert_int_equal(parse("{\"audit_head\":{\"seq\":12,\"hash\":\"" H64("a") "\"}}", &p), 0);
	assert_true(p.has_audit_head);
	assert_int_equal(p.audit_head.seq, 12);
	assert_string_equal(p.audit_head.hash, H64("a"));
	assert_int_equal(parse("{\"audit_head\":{\"seq\":0,\"hash\":\"" AUDIT_GENESIS_HASH "\"}}",
	                       &p), 0);
	assert_true(p.has_audit_head);
	assert_int_equal(parse("{\"wait\":true}", &p), 0);
	assert_false(p.has_audit_head);

	assert_int_not_equal(parse("{\"audit_head\":{\"seq\":0,\"hash\":\"" H64("a") "\"}}", &p), 0);
	assert_int_not_equal(parse("{\"audit_head\":{\"seq\":-1,\"hash\":\"" H64("a") "\"}}", &p), 0);
	assert_int_not_equal(parse("{\"audit_head\":{\"seq\":\"1\",\"hash\":\"" H64("a") "\"}}", &p), 0);
	assert_int_not_equal(parse("{\"audit_head\":{\"seq\":1,\"hash\":\"" H64("A") "\"}}", &p), 0);
	assert_int_not_equal(parse("{\"audit_head\":{\"seq\":1,\"hash\":\"abc\"}}", &p), 0);
	assert_int_not_equal(parse("{\"audit_head\":{\"seq\":1,\"hash\":\"" H64("a") "a\"}}", &p), 0);
	assert_int_not_equal(parse("{\"audit_head\":{\"seq\":1}}", &p), 0);
	assert_int_not_equal(parse("{\"audit_head\":{\"seq\":1,\"hash\":\"" H64("a") "\",\"x\":1}}",
	                           &p), 0);
	assert_int_not_equal(parse("{\"audit_head\":[1]}", &p), 0);
	assert_false(p.has_audit_head);   /* zeroed on failure */
}

/* The head objects of a relay event ("audit_head", "audit_open"). */
static void test_parse_head(void **state)
{
	struct store_audit_head h;
	json_t *o;
	int present = 1;

	(void)state;
	assert_int_equal(ping_parse_head(NULL, &h, &present), 0);
	assert_int_equal(present, 0);
	o = json_pack("{s:i, s:s}", "seq", 7, "hash",
	              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(ping_parse_head(o, &h, &present), 0);
	assert_int_equal(present, 1);
	assert_int_equal(h.seq, 7);
	json_object_set_new(o, "extra", json_true());
	assert_int_equal(ping_parse_head(o, &h, &present), TE_ERR_INVALID);
	assert_int_equal(present, 0);
	json_decref(o);
	o = json_pack("{s:i, s:s}", "seq", 0, "hash", "AB");
	assert_int_equal(ping_parse_head(o, &h, &present), TE_ERR_INVALID);
	json_decref(o);
	o = json_pack("{s:i, s:s}", "seq", -1, "hash", AUDIT_GENESIS_HASH);
	assert_int_equal(ping_parse_head(o, &h, &present), TE_ERR_INVALID);
	json_decref(o);
}

static void test_ping_audit_check(void **state)
{
	struct store_audit_head none = { 0, "" }, a10 = { 10, H64("a") }, b10 = { 10, H64("b") },
		c8 = { 8, H64("c") }, d11 = { 11, H64("d") }, g0 = { 0, AUDIT_GENESIS_HASH };

	/* No anchor yet: anything with records becomes it. */
	assert_int_equal(ping_audit_check(&none, &none, &a10), PING_AUDIT_ADVANCE);
	assert_int_equal(ping_audit_check(&none, &none, &g0), PING_AUDIT_KEEP);
	assert_int_equal(ping_audit_check(&a10, &none, &a10), PING_AUDIT_KEEP);
	assert_int_equal(ping_audit_check(&a10, &none, &d11), PING_AUDIT_ADVANCE);
	/* Lower seq, the same seq with another hash, an emptied log. */
	assert_int_equal(ping_audit_check(&a10, &none, &c8), PING_AUDIT_ROLLBACK);
	assert_int_equal(ping_audit_check(&a10, &none, &b10), PING_AUDIT_ROLLBACK);
	assert_int_equal(ping_audit_check(&a10, &none, &g0), PING_AUDIT_ROLLBACK);
	/* Once audited, the same head is not news; another one is. */
	assert_int_equal(ping_audit_check(&a10, &c8, &c8), PING_AUDIT_ROLLBACK_SEEN);
	assert_int_equal(ping_audit_check(&a10, &c8, &b10), PING_AUDIT_ROLLBACK);
}

static void test_ticket_actions(void **state)
{
	char out[MAX_ACTIONS_BYTES];

	assert_int_equal(tickets_actions("[\"http\",\"ssh\"]", NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "forward:http,forward:ssh");
	assert_int_equal(tickets_actions("[]", "[]", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(tickets_actions("[\"http\"]", "[\"shell\",\"files:read\"]", out,
	                                 sizeof(out)), 0);
	assert_string_equal(out, "forward:http,shell,files:read");
	assert_int_equal(tickets_actions("[]", "[\"diag:status\"]", out, sizeof(out)), 0);
	assert_string_equal(out, "diag:status");
	assert_int_equal(tickets_actions("[1]", NULL, out, sizeof(out)), TE_ERR_INVALID);
	assert_int_equal(tickets_actions("[]", "[\"a,b\"]", out, sizeof(out)), TE_ERR_INVALID);
	assert_int_equal(tickets_actions("[\"abcdefgh\"]", NULL, out, 10), TE_ERR_TOO_LONG);
}

static void test_ticket_end_at(void **state)
{
	struct store_session s;

	memset(&s, 0, sizeof(s));
	snprintf(s.state, sizeof(s.state), "awaiting_consent");
	assert_int_equal(tickets_end_at(&s, 1000), 0);       /* no limit granted */
	s.max_s = 3600;
	assert_int_equal(tickets_end_at(&s, 1000), 4600);    /* device leg at consent */
	snprintf(s.state, sizeof(s.state), "consented");
	s.updated_at = 900;
	assert_int_equal(tickets_end_at(&s, 1000), 4500);
	snprintf(s.state, sizeof(s.state), "active");
	s.started_at = 950;
	assert_int_equal(tickets_end_at(&s, 1000), 4550);
}

/* The signed ticket carries what the session was granted and its limits. */
static void test_ticket_carries_grant_and_limits(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct store_session s;
	struct ticket t;
	struct signmsg_ticket req;
	char text[MAX_TICKET_BYTES];

	assert_non_null(key);
	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "%032d", 1);
	snprintf(s.device, sizeof(s.device), "SN1");
	snprintf(s.user, sizeof(s.user), "alice");
	snprintf(s.state, sizeof(s.state), "consented");
	snprintf(s.services, sizeof(s.services), "[\"http\"]");
	snprintf(s.actions, sizeof(s.actions), "[\"files:write\",\"files:read\",\"diag:status\"]");
	s.updated_at = 1000;
	s.max_s = 3600;
	s.idle_s = 900;
	assert_int_equal(tickets_request(&s, "relay-1", TICKET_LEG_CLIENT, 1010, &req), 0);
	assert_int_equal(tickets_sign(key, &req, 1010, text, sizeof(text)), 0);
	assert_int_equal(ticket_verify(text, strlen(text), key, 1010, &t), 0);
	assert_string_equal(t.actions, "forward:http,files:write,files:read,diag:status");
	assert_true(ticket_allows(&t, "files:read"));
	assert_false(ticket_allows(&t, "shell"));
	assert_int_equal(t.end_at, 1000 + 3600);
	assert_int_equal(t.idle_s, 900);
	/* The signer's clock sets the lifetime; a leg it does not know is refused. */
	assert_int_equal(t.issued_at, 1010);
	assert_int_equal(t.expires_at, 1010 + TICKET_TTL_S);
	req.leg = 3;
	assert_int_equal(tickets_sign(key, &req, 1010, text, sizeof(text)), TE_ERR_INVALID);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names_round_trip),
		cmocka_unit_test(test_legal_moves_only),
		cmocka_unit_test(test_due_timeouts),
		cmocka_unit_test(test_due_customer_window),
		cmocka_unit_test(test_session_ids_are_128_bit_hex),
		cmocka_unit_test(test_ping_parse),
		cmocka_unit_test(test_ping_refuses_too_many_services),
		cmocka_unit_test(test_ping_parse_audit_head),
		cmocka_unit_test(test_parse_head),
		cmocka_unit_test(test_ping_audit_check),
		cmocka_unit_test(test_ping_parse_sessions_ended),
		cmocka_unit_test(test_ping_offers),
		cmocka_unit_test(test_ticket_actions),
		cmocka_unit_test(test_ticket_end_at),
		cmocka_unit_test(test_ticket_carries_grant_and_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
