/* Host unit test of json.c and http.c, the pure parts of the metadata fetch: make -C init unit */
#include "../init.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* expected: the entries in order, NULL-terminated. */
static void expect_env(const char *json, const char *const *expected)
{
	struct instance_config config = { 0 };
	struct env_list env = { 0 };
	char reason[160] = "";
	bool ok = config_read(json, strlen(json), &config, reason, sizeof reason);
	env = config.env;
	CHECK(ok, "%s: unexpected error: %s", json, reason);
	size_t count = 0;
	while (expected[count])
		count++;
	CHECK(!ok || env.count == count, "%s: %zu entries, expected %zu", json, env.count, count);
	for (size_t i = 0; ok && i < count && i < env.count; i++)
		CHECK(strcmp(env.entries[i], expected[i]) == 0, "%s: entry %zu is '%s', expected '%s'", json, i,
		      env.entries[i], expected[i]);
	CHECK(!ok || env.count == 0 || env.entries[env.count] == NULL, "%s: the list is not NULL-terminated", json);
	env_list_wipe(&env);
}

static void expect_error_n(const char *json, size_t len, const char *expected)
{
	struct instance_config config = { 0 };
	char reason[160] = "";
	bool ok = config_read(json, len, &config, reason, sizeof reason);
	struct env_list env = config.env;
	CHECK(!ok, "%.*s: accepted, expected '%s'", (int)len, json, expected);
	CHECK(ok || strcmp(reason, expected) == 0, "%.*s: reason '%s', expected '%s'", (int)len, json, reason,
	      expected);
	CHECK(env.entries == NULL && env.count == 0, "%.*s: entries left after a failure", (int)len, json);
	env_list_wipe(&env);
}

static void expect_error(const char *json, const char *expected)
{
	expect_error_n(json, strlen(json), expected);
}

static void test_json(void)
{
	expect_env("{\"instance\":\"i-3f2a9c1e\",\"env\":{\"INGOT_INSTANCE_ID\":\"i-3f2a9c1e\","
		   "\"DATABASE_URL\":\"postgres://u:p@db/app\",\"API_TOKEN\":\"s3cr\\u00e9t \\\"quoted\\\"\"}}",
		   (const char *const[]){ "INGOT_INSTANCE_ID=i-3f2a9c1e", "DATABASE_URL=postgres://u:p@db/app",
					  "API_TOKEN=s3cr\xc3\xa9t \"quoted\"", NULL });
	/* Every escape, the three UTF-8 lengths a \u escape can take, and raw UTF-8 passed through. */
	expect_env("{\"env\":{\"E\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"U\":\"\\u0041\\u00e9\\u20AC\\u07ff\\uffff\","
		   "\"RAW\":\"\xc3\xa9\xe2\x82\xac\"}}",
		   (const char *const[]){ "E=\"\\/\b\f\n\r\t", "U=A\xc3\xa9\xe2\x82\xac\xdf\xbf\xef\xbf\xbf",
					  "RAW=\xc3\xa9\xe2\x82\xac", NULL });
	/* Surrogate pairs become one 4-byte UTF-8 sequence, in either hex case. */
	expect_env("{\"env\":{\"EMOJI\":\"\\ud83d\\ude00\",\"MAX\":\"\\uDBFF\\uDFFF\",\"MIN\":\"\\ud800\\udc00\"}}",
		   (const char *const[]){ "EMOJI=\xf0\x9f\x98\x80", "MAX=\xf4\x8f\xbf\xbf", "MIN=\xf0\x90\x80\x80",
					  NULL });
	/* Other members of any type are skipped, however nested; "env" only counts at the top. */
	expect_env(" {\"a\" : {\"b\":[1,-2.5e+3,0.5,0,1E9,{\"env\":{\"X\":1}}],\"c\":null} , \"t\":true,"
		   "\"f\":false,\"s\":\"\\ud83d\\ude00\",\"arr\":[[],{}],\"env\" : { \"K\" : \"v\" } ,\"z\":[\"x\"]}\n",
		   (const char *const[]){ "K=v", NULL });
	/* Member order is kept, duplicates included: the later one wins when the env is built. */
	expect_env("{\"env\":{\"A\":\"1\",\"B\":\"2\",\"A\":\"3\"}}",
		   (const char *const[]){ "A=1", "B=2", "A=3", NULL });
	expect_env("{\"env\":{\"A\":\"1\"},\"env\":{\"B\":\"\"}}", (const char *const[]){ "A=1", "B=", NULL });
	expect_env("{\"env\":{}}", (const char *const[]){ NULL });
	expect_env("{\"\\u0065nv\":{\"K\":\"escaped env name\"}}",
		   (const char *const[]){ "K=escaped env name", NULL });
	expect_env("{\"env\":{\"K\\u00e9y\":\"=value=\"}}", (const char *const[]){ "K\xc3\xa9y==value=", NULL });

	/* Syntax errors point at the first byte that cannot continue the document (0-based). */
	expect_error("", "the body is not valid JSON at byte 0");
	expect_error("{\"env\":{\"K\":\"v\",}}", "the body is not valid JSON at byte 16");
	expect_error("{\"env\":{\"K\":\"v\"}", "the body is not valid JSON at byte 16");
	expect_error("{\"env\":{\"K\":\"v\"}} x", "the body is not valid JSON at byte 18");
	expect_error("{\"env\":{\"K\" \"v\"}}", "the body is not valid JSON at byte 12");
	expect_error("{\"env\":{},\"n\":01}", "the body is not valid JSON at byte 15");
	expect_error("{\"env\":{},\"n\":1.}", "the body is not valid JSON at byte 16");
	expect_error("{\"env\":{},\"n\":-}", "the body is not valid JSON at byte 15");
	expect_error("{\"env\":{},\"n\":1e}", "the body is not valid JSON at byte 16");
	expect_error("{\"env\":{},\"n\":tru}", "the body is not valid JSON at byte 14");
	expect_error("{\"env\":{},\"n\":[1 2]}", "the body is not valid JSON at byte 17");
	expect_error("{\"env\":{\"K\":\"a\tb\"}}", "the body is not valid JSON at byte 14");
	expect_error("{\"env\":{\"K\":\"\\x\"}}", "the body is not valid JSON at byte 13");
	expect_error("{\"env\":{\"K\":\"\\u12G4\"}}", "the body is not valid JSON at byte 13");
	expect_error("{\"env\":{\"K\":\"\\ud83d\"}}", "the body is not valid JSON at byte 13");
	expect_error("{\"env\":{\"K\":\"\\ud83d\\u0041\"}}", "the body is not valid JSON at byte 13");
	expect_error("{\"env\":{\"K\":\"x\\ude00\"}}", "the body is not valid JSON at byte 14");
	expect_error("{\"env\":{\"K\":\"unterminated}}", "the body is not valid JSON at byte 27");
	expect_error("{env:{}}", "the body is not valid JSON at byte 1");
	expect_error_n("{\"env\":{\"K\":\"a\0b\"}}", 19, "the body is not valid JSON at byte 14");

	/* What is valid JSON but not a configuration. */
	expect_error("[]", "the body is not a JSON object at byte 0");
	expect_error("  \"env\"", "the body is not a JSON object at byte 2");
	expect_error("{}", "the body has no env object");
	expect_error("{\"a\":{\"env\":{}}}", "the body has no env object");
	expect_error("{\"env\":[]}", "the env member is not an object at byte 7");
	expect_error("{\"env\":\"K=V\"}", "the env member is not an object at byte 7");
	expect_error("{\"env\":{\"A\":\"1\",\"PORT\":8080}}", "an env value is not a string at byte 23");
	expect_error("{\"env\":{\"K\":null}}", "an env value is not a string at byte 12");
	expect_error("{\"env\":{\"K\":{\"nested\":\"x\"}}}", "an env value is not a string at byte 12");
	expect_error("{\"env\":{\"K\":[1,}}", "the body is not valid JSON at byte 15");
	expect_error("{\"env\":{\"\":\"v\"}}", "an env key is empty at byte 8");
	expect_error("{\"env\":{\"A=B\":\"v\"}}", "an env key contains '=' at byte 8");
	expect_error("{\"env\":{\"A\\u003dB\":\"v\"}}", "an env key contains '=' at byte 8");
	expect_error("{\"env\":{\"A\\u0000\":\"v\"}}", "an env key contains NUL at byte 8");
	expect_error("{\"env\":{\"OK\":\"1\",\"K\":\"x\\u0000y\"}}", "an env value contains NUL at byte 21");

	/* Nesting is bounded, so a hostile body cannot exhaust init's stack. */
	char deep[300] = "{\"env\":{},\"x\":";
	size_t len = strlen(deep);
	for (int i = 0; i < 100; i++)
		deep[len++] = '[';
	deep[len] = '\0';
	expect_error(deep, "the body is nested too deeply at byte 77");
}

static enum http_state parse(const char *response, bool at_eof, struct http_response *out)
{
	*out = (struct http_response){ 0 };
	return http_parse_response(response, strlen(response), at_eof, out);
}

static void expect_body(const char *response, bool at_eof, const char *body)
{
	struct http_response r;
	enum http_state state = parse(response, at_eof, &r);
	CHECK(state == HTTP_COMPLETE && r.status == 200, "%s: state %d status %d", response, state, r.status);
	CHECK(state != HTTP_COMPLETE || (r.body_length == strlen(body) && memcmp(response + r.body_at, body,
										 r.body_length) == 0),
	      "%s: body '%.*s', expected '%s'", response, (int)r.body_length, response + r.body_at, body);
}

static void expect_state(const char *response, bool at_eof, enum http_state expected)
{
	struct http_response r;
	enum http_state state = parse(response, at_eof, &r);
	CHECK(state == expected, "%s: state %d, expected %d", response, state, expected);
}

static void test_http(void)
{
	expect_body("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
		    "Connection: close\r\n\r\nhello", false, "hello");
	/* Content-Length ends the body even if more arrives; without it, EOF does. */
	expect_body("HTTP/1.1 200 OK\r\ncontent-length:  3 \r\n\r\nabcdef", false, "abc");
	expect_body("HTTP/1.0 200 OK\r\nServer: x\r\n\r\n{\"env\":{}}", true, "{\"env\":{}}");
	expect_body("HTTP/1.0 200 OK\r\n\r\n", true, "");
	expect_body("HTTP/1.0 200\r\nContent-Length: 2\r\n\r\nhi", false, "hi");
	expect_body("HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", false, "hi");
	expect_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nhi", true, "hi");
	expect_state("HTTP/1.0 200 OK\r\n\r\n{\"env\"", false, HTTP_INCOMPLETE);
	expect_state("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true, HTTP_INCOMPLETE);
	expect_state("HTTP/1.1 200 OK\r\nContent-Len", true, HTTP_INCOMPLETE);
	expect_state("", true, HTTP_INCOMPLETE);
	expect_state("HTT", false, HTTP_INCOMPLETE);

	/* Any other status is complete once the headers are in, whatever the body. */
	struct http_response r;
	CHECK(parse("HTTP/1.0 404 Not Found\r\nContent-Length: 99\r\n\r\n", false, &r) == HTTP_COMPLETE &&
		      r.status == 404 && strcmp(r.reason, "Not Found") == 0,
	      "404: status %d reason '%s'", r.status, r.reason);
	CHECK(parse("HTTP/1.1 503 Busy\x01\x7f now\r\n\r\n", false, &r) == HTTP_COMPLETE && r.status == 503 &&
		      strcmp(r.reason, "Busy?? now") == 0,
	      "503: status %d reason '%s'", r.status, r.reason);
	CHECK(parse("HTTP/1.1 500\r\n\r\n", false, &r) == HTTP_COMPLETE && r.status == 500 && r.reason[0] == '\0',
	      "500: status %d reason '%s'", r.status, r.reason);

	/* What a failing connector may write instead of a response, and malformed responses. */
	expect_state("cat: /nope: No such file or directory\n", true, HTTP_MALFORMED);
	expect_state("HTTP/2 200 OK\r\n\r\n", false, HTTP_MALFORMED);
	expect_state("HTTP/1.1 2x0 OK\r\n\r\n", false, HTTP_MALFORMED);
	expect_state("HTTP/1.1 200OK\r\n\r\n", false, HTTP_MALFORMED);
	expect_state("HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", false, HTTP_MALFORMED);
	expect_state("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", false, HTTP_MALFORMED);
	expect_state("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false,
		     HTTP_UNSUPPORTED);
	expect_state("HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n", false, HTTP_TOO_LARGE);
	expect_state("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", false, HTTP_TOO_LARGE);

	/* Size limits: headers up to 16 KiB, a body up to 1 MiB, with or without Content-Length. */
	size_t size = HTTP_MAX_HEADERS + HTTP_MAX_BODY + 2;
	char *big = malloc(size);
	memset(big, 'x', size - 1);
	big[size - 1] = '\0';
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	expect_state(big, false, HTTP_MALFORMED);
	size_t head = (size_t)sprintf(big, "HTTP/1.0 200 OK\r\n\r\n");
	memset(big + head, 'x', HTTP_MAX_BODY);
	big[head + HTTP_MAX_BODY] = '\0';
	CHECK(parse(big, true, &r) == HTTP_COMPLETE && r.body_length == HTTP_MAX_BODY, "a 1 MiB body is refused");
	big[head + HTTP_MAX_BODY] = 'x';
	big[head + HTTP_MAX_BODY + 1] = '\0';
	expect_state(big, false, HTTP_TOO_LARGE);
	head = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", HTTP_MAX_BODY);
	memset(big + head, 'x', HTTP_MAX_BODY);
	big[head + HTTP_MAX_BODY] = '\0';
	CHECK(parse(big, false, &r) == HTTP_COMPLETE && r.body_length == HTTP_MAX_BODY,
	      "a 1 MiB body with Content-Length is refused");
	free(big);
}

/* The instance id and the log endpoint beside the env. */
static void test_instance_and_logs(void)
{
	const char *json = "{\"instance\":\"i-\\\"q\\\\]\",\"logs\":{\"app\":\"shop\",\"extra\":[1],"
			   "\"address\":\"10.0.2.101:601\"},\"env\":{}}";
	struct instance_config config = { 0 };
	char reason[160] = "";
	CHECK(config_read(json, strlen(json), &config, reason, sizeof reason), "%s: %s", json, reason);
	CHECK(strcmp(config.instance, "i-\"q\\]") == 0, "instance is '%s'", config.instance);
	CHECK(strcmp(config.log_address, "10.0.2.101:601") == 0, "log address is '%s'", config.log_address);
	CHECK(strcmp(config.app_name, "shop") == 0, "app name is '%s'", config.app_name);
	env_list_wipe(&config.env);
	struct instance_config none = { 0 };
	CHECK(config_read("{\"env\":{}}", 10, &none, reason, sizeof reason) && !none.instance[0] &&
		      !none.log_address[0] && !none.app_name[0],
	      "a config without instance or logs has them empty");

	expect_error("{\"logs\":{\"address\":\"10.0.2.101\"},\"env\":{}}", "the logs address is not IPV4:PORT at byte 19");
	expect_error("{\"logs\":{\"address\":\"host:601\"},\"env\":{}}", "the logs address is not IPV4:PORT at byte 19");
	expect_error("{\"logs\":{\"address\":\"10.0.2.101:0\"},\"env\":{}}", "the logs address is not IPV4:PORT at byte 19");
	expect_error("{\"logs\":{\"address\":601},\"env\":{}}", "the logs address is not IPV4:PORT at byte 19");
	expect_error("{\"logs\":\"10.0.2.101:601\",\"env\":{}}", "the logs member is not an object at byte 8");
	expect_error("{\"logs\":{\"app\":\"\"},\"env\":{}}", "the logs app is not a string of 1 to 48 bytes at byte 15");
	expect_error("{\"instance\":7,\"env\":{}}", "the instance is not a string of 1 to 128 bytes at byte 12");
	expect_error("{\"instance\":\"a\\u0000b\",\"env\":{}}", "the instance is not a string of 1 to 128 bytes at byte 12");

	struct in_addr address;
	uint16_t port = 0;
	CHECK(parse_endpoint("10.0.2.101", 601, &address, &port) && port == 601, "the default port applies");
	CHECK(parse_endpoint("10.0.2.101:514", 0, &address, &port) && port == 514, "an explicit port wins");
	CHECK(!parse_endpoint("10.0.2.101", 0, &address, &port), "a required port is missing");
	CHECK(!parse_endpoint("10.0.2.101:65536", 601, &address, &port), "port 65536 is accepted");
	CHECK(!parse_endpoint("10.0.2.101:+5", 601, &address, &port), "port +5 is accepted");
}

int main(void)
{
	test_json();
	test_instance_and_logs();
	test_http();
	return check_summary("json-test");
}
