/*
 * One server, one connection, three requests: the C ABI from start to end.
 *
 *   cargo build --release -p misdirect-ffi
 *   cc -std=c99 -Wall -Iffi/include ffi/examples/decide.c \
 *      target/release/libmisdirect_ffi.a -lpthread -ldl -lm -o target/decide
 *   target/decide
 */
#include <stdio.h>
#include <string.h>

#include "misdirect.h"

static const char CONFIG[] =
    "[[policies]]\n"
    "name = \"public\"\n"
    "client_auth = \"none\"\n"
    "\n"
    "[[certificates]]\n"
    "id = \"edge\"\n"
    "sans = [\"*.example.com\"]\n"
    "\n"
    "[[listeners]]\n"
    "name = \"tls\"\n"
    "tls = true\n"
    "port = 443\n"
    "\n"
    "[[vhosts]]\n"
    "name = \"shop\"\n"
    "names = [\"shop.example.com\"]\n"
    "policy = \"public\"\n";

static misdirect_str str(const char *s) {
    misdirect_str m = { (const uint8_t *) s, strlen(s) };
    return m;
}

int main(void) {
    char error[256];
    size_t error_len = 0;
    misdirect_server *server = NULL;
    misdirect_result rc = misdirect_server_from_toml(str(CONFIG), str("."), &server,
                                                     (uint8_t *) error, sizeof error,
                                                     &error_len);
    if (rc != MISDIRECT_RESULT_OK) {
        fprintf(stderr, "%s: %s\n", misdirect_result_text(rc), error);
        return 1;
    }

    /* Once per connection: what the handshake established. */
    misdirect_facts facts = { 0 };
    facts.listener = str("tls");
    facts.tls = 1;
    facts.sni = str("shop.example.com");
    facts.certificate = str("edge");
    facts.policy = str("public");
    misdirect_connection *conn = NULL;
    rc = misdirect_connection_new(server, &facts, &conn);
    if (rc != MISDIRECT_RESULT_OK) {
        fprintf(stderr, "connection: %s\n", misdirect_result_text(rc));
        misdirect_server_free(server);
        return 1;
    }

    /* Per request: HTTP/2, one :authority each. */
    const char *authorities[] = { "shop.example.com", "blog.other.org", "user@shop.example.com" };
    for (size_t i = 0; i < 3; i++) {
        misdirect_str authority = str(authorities[i]);
        misdirect_request request = { 0 };
        request.version = MISDIRECT_HTTP_2;
        request.method = MISDIRECT_METHOD_OTHER;
        request.scheme = str("https");
        request.authorities = &authority;
        request.authorities_len = 1;
        request.target = MISDIRECT_TARGET_ORIGIN;

        misdirect_decision d;
        char reason[256];
        rc = misdirect_decide(server, conn, &request, &d, (uint8_t *) reason, sizeof reason);
        if (rc != MISDIRECT_RESULT_OK) {
            fprintf(stderr, "decide: %s\n", misdirect_result_text(rc));
            return 1;
        }
        if (d.verdict == MISDIRECT_VERDICT_SERVE) {
            printf("%-22s serve %.*s\n", authorities[i], (int) d.vhost.len,
                   (const char *) d.vhost.data);
        } else {
            printf("%-22s %u (rule %u): %s\n", authorities[i], d.status, d.rule, reason);
        }
    }

    misdirect_connection_free(conn);
    misdirect_server_free(server);
    return 0;
}
