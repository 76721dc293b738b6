/*
 * The C tests of misdirect's C ABI (ffi/include/misdirect.h): every exported function, its
 * errors, its buffers, and two threads deciding on one server and one connection.
 *
 * Usage: test_misdirect WILD.der OTHER.der
 *   WILD.der   a certificate whose SANs are DNS:*.example.test and DNS:example.test
 *   OTHER.der  a certificate with other SANs (none of the configuration's)
 * ffi/check.sh makes both with openssl, builds this file against the static and the shared
 * library, and runs it under valgrind and under ASan/UBSan.
 *
 * Each CHECK that fails prints file:line and its expression; the program goes on and exits 1
 * at the end if any failed, after printing how many checks ran.
 */
#define _POSIX_C_SOURCE 200809L

#include "misdirect.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned checks;
static unsigned failures;

#define CHECK(expr)                                                                        \
  do {                                                                                     \
    checks++;                                                                              \
    if (!(expr)) {                                                                         \
      failures++;                                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);             \
    }                                                                                      \
  } while (0)

/* A CHECK on a result code that also names the code it got. */
#define CHECK_RESULT(call, expected)                                                       \
  do {                                                                                     \
    misdirect_result got_ = (call);                                                        \
    checks++;                                                                              \
    if (got_ != (misdirect_result)(expected)) {                                            \
      failures++;                                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s == %s (got %u: %s)\n", __FILE__, __LINE__,  \
              #call, #expected, (unsigned)got_, misdirect_result_text(got_));               \
    }                                                                                      \
  } while (0)

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static const misdirect_str ABSENT = {NULL, 0};

static misdirect_str S(const char *text) {
  misdirect_str s;
  s.data = (const uint8_t *)text;
  s.len = strlen(text);
  return s;
}

static misdirect_str B(const void *bytes, size_t len) {
  misdirect_str s;
  s.data = (const uint8_t *)bytes;
  s.len = len;
  return s;
}

/* Whether a borrowed string holds exactly `text`. */
static int str_is(misdirect_str s, const char *text) {
  size_t n = strlen(text);
  return s.data != NULL && s.len == n && memcmp(s.data, text, n) == 0;
}

static int str_contains(misdirect_str s, const char *needle) {
  size_t n = strlen(needle);
  size_t i;
  if (s.data == NULL || s.len < n) {
    return 0;
  }
  for (i = 0; i + n <= s.len; i++) {
    if (memcmp(s.data + i, needle, n) == 0) {
      return 1;
    }
  }
  return 0;
}

static void *must_malloc(size_t n) {
  void *p = malloc(n);
  if (p == NULL) {
    fprintf(stderr, "out of memory (%zu bytes)\n", n);
    exit(2);
  }
  return p;
}

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf;
  long size;
  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(2);
  }
  buf = must_malloc((size_t)size + 1);
  if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(2);
  }
  fclose(f);
  *len = (size_t)size;
  return buf;
}

static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(2);
  }
}

/* DER to PEM, so that a configuration can name a certificate `file`. */
static char *pem_of(const unsigned char *der, size_t len) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t cap = 64 + len * 2;
  char *out = must_malloc(cap);
  size_t o = 0, i, col = 0;
  o += (size_t)sprintf(out, "-----BEGIN CERTIFICATE-----\n");
  for (i = 0; i < len; i += 3) {
    unsigned v = (unsigned)der[i] << 16;
    if (i + 1 < len) v |= (unsigned)der[i + 1] << 8;
    if (i + 2 < len) v |= der[i + 2];
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
    col += 4;
    if (col == 64) {
      out[o++] = '\n';
      col = 0;
    }
  }
  if (col != 0) out[o++] = '\n';
  o += (size_t)sprintf(out + o, "-----END CERTIFICATE-----\n");
  return out;
}

/* The configuration of most tests. The mTLS policy's client CA file is only read by a TLS
 * build (Site::build), which the C ABI does not make: Site::from_toml keeps its path without
 * opening it, so no ca.pem needs to exist. */
static const char CONFIG[] =
    "[knobs]\n"
    "http10_default_vhost = true\n"
    "\n"
    "[[policies]]\n"
    "name = \"public\"\n"
    "client_auth = \"none\"\n"
    "\n"
    "[[policies]]\n"
    "name = \"mtls\"\n"
    "client_auth = \"required\"\n"
    "client_cas = [\"ca.pem\"]\n"
    "versions = [\"1.3\"]\n"
    "\n"
    "[[listeners]]\n"
    "name = \"tls\"\n"
    "tls = true\n"
    "port = 8443\n"
    "default_tls_vhost = \"a\"\n"
    "\n"
    "[[listeners]]\n"
    "name = \"plain\"\n"
    "tls = false\n"
    "port = 8080\n"
    "default_vhost = \"a\"\n"
    "\n"
    "[[certificates]]\n"
    "id = \"wild\"\n"
    "sans = [\"example.test\", \"*.example.test\"]\n"
    "\n"
    "[[certificates]]\n"
    "id = \"other\"\n"
    "sans = [\"other.test\"]\n"
    "\n"
    "[[vhosts]]\n"
    "name = \"a\"\n"
    "names = [\"a.example.test\"]\n"
    "https_ports = [8443]\n"
    "http_ports = [8080]\n"
    "policy = \"public\"\n"
    "\n"
    "[[vhosts]]\n"
    "name = \"admin\"\n"
    "names = [\"admin.example.test\"]\n"
    "https_ports = [8443]\n"
    "policy = \"mtls\"\n"
    "\n"
    "[[vhosts]]\n"
    "name = \"o\"\n"
    "names = [\"other.test\"]\n"
    "https_ports = [8443]\n"
    "policy = \"public\"\n";

/* A second configuration: policies only named by virtual hosts (undeclared), a certificate
 * whose SANs are written in capitals, and no default_tls_vhost. */
static const char BARE_CONFIG[] =
    "[[listeners]]\n"
    "name = \"tls\"\n"
    "tls = true\n"
    "port = 443\n"
    "\n"
    "[[certificates]]\n"
    "id = \"caps\"\n"
    "sans = [\"*.EXAMPLE.test\", \"Example.Test\"]\n"
    "\n"
    "[[vhosts]]\n"
    "name = \"w\"\n"
    "names = [\"www.example.test\"]\n"
    "policy = \"bare\"\n";

static misdirect_server *build(const char *toml) {
  misdirect_server *server = NULL;
  char error[1024];
  size_t error_len = 12345;
  misdirect_result r = misdirect_server_from_toml(S(toml), ABSENT, &server, (uint8_t *)error,
                                                  sizeof error, &error_len);
  if (r != MISDIRECT_RESULT_OK || server == NULL) {
    fprintf(stderr, "the configuration does not build (%s): %s\n", misdirect_result_text(r),
            error);
    exit(2);
  }
  return server;
}

static misdirect_facts tls_facts(const char *sni, const char *certificate, const char *policy) {
  misdirect_facts f;
  f.listener = S("tls");
  f.tls = 1;
  f.sni = sni ? S(sni) : ABSENT;
  f.certificate = certificate ? S(certificate) : ABSENT;
  f.policy = policy ? S(policy) : ABSENT;
  return f;
}

static misdirect_facts plain_facts(void) {
  misdirect_facts f;
  f.listener = S("plain");
  f.tls = 0;
  f.sni = ABSENT;
  f.certificate = ABSENT;
  f.policy = ABSENT;
  return f;
}

static misdirect_connection *connect_to(const misdirect_server *server, misdirect_facts facts) {
  misdirect_connection *c = NULL;
  misdirect_result r = misdirect_connection_new(server, &facts, &c);
  if (r != MISDIRECT_RESULT_OK || c == NULL) {
    fprintf(stderr, "misdirect_connection_new: %s\n", misdirect_result_text(r));
    exit(2);
  }
  return c;
}

/* An empty request of a version: fill in what the case needs. */
static misdirect_request request(uint32_t version) {
  misdirect_request q;
  memset(&q, 0, sizeof q);
  q.version = version;
  q.method = MISDIRECT_METHOD_OTHER;
  q.scheme = ABSENT;
  q.authorities = NULL;
  q.authorities_len = 0;
  q.hosts = NULL;
  q.hosts_len = 0;
  q.target = MISDIRECT_TARGET_ORIGIN;
  q.target_scheme = ABSENT;
  q.target_authority = ABSENT;
  return q;
}

/* A decision and its reason line, NUL-terminated. */
typedef struct {
  misdirect_result result;
  misdirect_decision d;
  char reason[512];
} outcome;

static outcome decide(const misdirect_server *s, const misdirect_connection *c,
                      const misdirect_request *q) {
  outcome o;
  memset(&o, 0x5a, sizeof o);
  o.result = misdirect_decide(s, c, q, &o.d, (uint8_t *)o.reason, sizeof o.reason);
  return o;
}

/* The checks every decision must pass, whatever its verdict. */
static void check_shape(const outcome *o) {
  CHECK(o->result == MISDIRECT_RESULT_OK);
  CHECK(o->d.reason_len < sizeof o->reason);
  CHECK(strlen(o->reason) == o->d.reason_len); /* no NUL inside, all of it written */
  if (o->d.verdict == MISDIRECT_VERDICT_SERVE) {
    CHECK(o->d.status == 0);
    CHECK(o->d.rule == 255);
    CHECK(o->d.vhost.data != NULL && o->d.vhost.len > 0);
    CHECK(o->d.summary.data == NULL && o->d.summary.len == 0);
    CHECK(o->d.reason_len == 0);
  } else {
    CHECK(o->d.vhost.data == NULL && o->d.vhost.len == 0);
    CHECK(o->d.summary.data != NULL && o->d.summary.len > 0);
    CHECK(o->d.reason_len > 0);
    CHECK(o->d.rule <= 7);
  }
}

static void check_serve(const outcome *o, const char *vhost) {
  check_shape(o);
  CHECK(o->d.verdict == MISDIRECT_VERDICT_SERVE);
  CHECK(str_is(o->d.vhost, vhost));
}

static void check_refused(const outcome *o, misdirect_verdict verdict, unsigned status,
                          unsigned rule) {
  check_shape(o);
  CHECK(o->d.verdict == verdict);
  CHECK(o->d.status == status);
  CHECK(o->d.rule == rule);
  if (o->d.verdict != verdict || o->d.rule != rule) {
    fprintf(stderr, "  (verdict %u, status %u, rule %u: %s)\n", (unsigned)o->d.verdict,
            (unsigned)o->d.status, (unsigned)o->d.rule, o->reason);
  }
}

static void check_misdirected(const outcome *o, unsigned rule) {
  check_refused(o, MISDIRECT_VERDICT_MISDIRECTED, 421, rule);
  CHECK(strncmp(o->reason, "421: ", 5) == 0);
}

static void check_bad_request(const outcome *o) {
  check_refused(o, MISDIRECT_VERDICT_BAD_REQUEST, 400, 1);
  CHECK(strncmp(o->reason, "400: ", 5) == 0);
}

/* ---------------------------------------------------------------------------------------- */

static void test_abi_version_and_result_text(void) {
  uint32_t code, other;
  CHECK(misdirect_abi_version() == MISDIRECT_ABI_VERSION);
  CHECK(MISDIRECT_ABI_VERSION == 1);
  for (code = MISDIRECT_RESULT_OK; code <= MISDIRECT_RESULT_PANIC; code++) {
    const char *text = misdirect_result_text(code);
    CHECK(text != NULL && strlen(text) > 0);
    CHECK(strcmp(text, "an unknown result code") != 0);
    for (other = 0; other < code; other++) {
      CHECK(strcmp(text, misdirect_result_text(other)) != 0);
    }
  }
  CHECK(strcmp(misdirect_result_text(MISDIRECT_RESULT_OK), "ok") == 0);
  CHECK(strcmp(misdirect_result_text(MISDIRECT_RESULT_PANIC + 1), "an unknown result code") == 0);
  CHECK(strcmp(misdirect_result_text(0xffffffffu), "an unknown result code") == 0);
  /* The constants the header carries. */
  CHECK(MISDIRECT_MAX_FIELDS == 8);
  CHECK(MISDIRECT_MAX_CONFIG_LEN == 16 * 1024 * 1024);
  CHECK(MISDIRECT_TLS_1_2 == 1 && MISDIRECT_TLS_1_3 == 2);
}

static void test_from_toml(void) {
  misdirect_server *server = NULL;
  misdirect_server *sentinel = (misdirect_server *)&checks; /* any non-NULL pointer */
  char error[1024];
  char tiny[10];
  size_t error_len;
  size_t full_len;

  /* Success: *out set, the error buffer emptied, its length 0. */
  error_len = 99;
  memset(error, 'x', sizeof error);
  CHECK_RESULT(misdirect_server_from_toml(S(CONFIG), ABSENT, &server, (uint8_t *)error,
                                          sizeof error, &error_len),
               MISDIRECT_RESULT_OK);
  CHECK(server != NULL);
  CHECK(error_len == 0);
  CHECK(error[0] == '\0');
  misdirect_server_free(server);

  /* A base directory (no file is named, so any will do), and no error buffer at all. */
  server = NULL;
  CHECK_RESULT(misdirect_server_from_toml(S(CONFIG), S("/nonexistent"), &server, NULL, 0, NULL),
               MISDIRECT_RESULT_OK);
  CHECK(server != NULL);
  misdirect_server_free(server);

  /* NULL arguments, each in turn: *out is NULL after. */
  CHECK_RESULT(misdirect_server_from_toml(S(CONFIG), ABSENT, NULL, (uint8_t *)error,
                                          sizeof error, &error_len),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  server = sentinel;
  CHECK_RESULT(misdirect_server_from_toml(ABSENT, ABSENT, &server, NULL, 0, NULL),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK(server == NULL);
  /* Every failure leaves a message: a NULL argument's is the result's sentence. */
  memset(error, 'x', sizeof error);
  error_len = 12345;
  CHECK_RESULT(misdirect_server_from_toml(S(CONFIG), ABSENT, NULL, (uint8_t *)error,
                                          sizeof error, &error_len),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK(strcmp(error, "a NULL argument") == 0);
  CHECK(error_len == strlen("a NULL argument"));
  memset(error, 'x', sizeof error);
  error_len = 12345;
  server = sentinel;
  CHECK_RESULT(misdirect_server_from_toml(ABSENT, ABSENT, &server, (uint8_t *)error,
                                          sizeof error, &error_len),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK(server == NULL);
  CHECK(strcmp(error, misdirect_result_text(MISDIRECT_RESULT_NULL_ARGUMENT)) == 0);
  CHECK(error_len == strlen(error));
  server = sentinel;
  CHECK_RESULT(misdirect_server_from_toml(B(NULL, 5), ABSENT, &server, NULL, 0, NULL),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK(server == NULL);
  server = sentinel;
  CHECK_RESULT(misdirect_server_from_toml(S(CONFIG), B(NULL, 3), &server, NULL, 0, NULL),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK(server == NULL);
  /* An empty text is present (an empty configuration), not absent. */
  server = NULL;
  CHECK_RESULT(misdirect_server_from_toml(B("", 0), ABSENT, &server, NULL, 0, NULL),
               MISDIRECT_RESULT_OK);
  CHECK(server != NULL);
  misdirect_server_free(server);

  /* Not UTF-8. */
  {
    static const char bad[] = "[knobs]\nsni = \"\xff\xfe\"\n";
    server = sentinel;
    error_len = 0;
    CHECK_RESULT(misdirect_server_from_toml(B(bad, sizeof bad - 1), ABSENT, &server,
                                            (uint8_t *)error, sizeof error, &error_len),
                 MISDIRECT_RESULT_NOT_UTF8);
    CHECK(server == NULL);
    CHECK(strstr(error, "UTF-8") != NULL);
    CHECK(strstr(error, "byte 15") != NULL);
    CHECK(error_len == strlen(error));
  }

  /* A syntax error and a value error: CONFIG, with the line. */
  server = sentinel;
  CHECK_RESULT(misdirect_server_from_toml(S("# a comment\n[[listeners]\nname = 1\n"), ABSENT,
                                          &server, (uint8_t *)error, sizeof error, &error_len),
               MISDIRECT_RESULT_CONFIG);
  CHECK(server == NULL);
  CHECK(strstr(error, "line 2") != NULL);
  CHECK(error_len == strlen(error));
  server = sentinel;
  CHECK_RESULT(misdirect_server_from_toml(S("[knobs]\n\nsni = \"strickt\"\n"), ABSENT, &server,
                                          (uint8_t *)error, sizeof error, &error_len),
               MISDIRECT_RESULT_CONFIG);
  CHECK(server == NULL);
  CHECK(strstr(error, "line 3") != NULL);
  /* An unknown key. */
  CHECK_RESULT(misdirect_server_from_toml(S("[knobs]\nsnii = \"strict\"\n"), ABSENT, &server,
                                          (uint8_t *)error, sizeof error, &error_len),
               MISDIRECT_RESULT_CONFIG);
  CHECK(strstr(error, "snii") != NULL);

  /* Parses, but does not build: a policy no [[policies]] table declares (Server::build), and
   * a virtual host on a port no listener serves (the file's own check). */
  {
    static const char undeclared[] =
        "[[policies]]\nname = \"public\"\nclient_auth = \"none\"\n"
        "[[listeners]]\nname = \"tls\"\ntls = true\nport = 443\n"
        "[[certificates]]\nid = \"c\"\nsans = [\"*.example.test\"]\n"
        "[[vhosts]]\nname = \"a\"\nnames = [\"a.example.test\"]\npolicy = \"public\"\n"
        "[[vhosts]]\nname = \"b\"\nnames = [\"b.example.test\"]\npolicy = \"nope\"\n";
    static const char wrong_port[] =
        "[[listeners]]\nname = \"tls\"\ntls = true\nport = 8443\n"
        "[[certificates]]\nid = \"c\"\nsans = [\"*.example.test\"]\n"
        "[[vhosts]]\nname = \"a\"\nnames = [\"a.example.test\"]\npolicy = \"public\"\n";
    static const char duplicate[] =
        "[[listeners]]\nname = \"tls\"\ntls = true\nport = 443\n"
        "[[certificates]]\nid = \"c\"\nsans = [\"*.example.test\"]\n"
        "[[vhosts]]\nname = \"a\"\nnames = [\"a.example.test\"]\npolicy = \"p\"\n"
        "[[vhosts]]\nname = \"b\"\nnames = [\"A.example.test\"]\npolicy = \"p\"\n";
    server = sentinel;
    CHECK_RESULT(misdirect_server_from_toml(S(undeclared), ABSENT, &server, (uint8_t *)error,
                                            sizeof error, &error_len),
                 MISDIRECT_RESULT_CONFIG);
    CHECK(server == NULL);
    CHECK(strstr(error, "nope") != NULL);
    CHECK(error_len == strlen(error) && error_len > 0);
    server = sentinel;
    CHECK_RESULT(misdirect_server_from_toml(S(wrong_port), ABSENT, &server, (uint8_t *)error,
                                            sizeof error, &error_len),
                 MISDIRECT_RESULT_CONFIG);
    CHECK(server == NULL);
    CHECK(strstr(error, "https_ports") != NULL);
    server = sentinel;
    CHECK_RESULT(misdirect_server_from_toml(S(duplicate), ABSENT, &server, (uint8_t *)error,
                                            sizeof error, &error_len),
                 MISDIRECT_RESULT_CONFIG);
    CHECK(server == NULL);
    CHECK(error_len > 0);
  }

  /* 64 KiB of garbage: CONFIG, not a crash; the message is whole in *error_len. */
  {
    size_t n = 64 * 1024, i;
    char *garbage = must_malloc(n);
    uint32_t x = 2463534242u;
    for (i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      garbage[i] = (char)(x % 8 == 0 ? '\n' : ' ' + x % 95);
    }
    server = sentinel;
    error_len = 0;
    CHECK_RESULT(misdirect_server_from_toml(B(garbage, n), ABSENT, &server, (uint8_t *)error,
                                            sizeof error, &error_len),
                 MISDIRECT_RESULT_CONFIG);
    CHECK(server == NULL);
    CHECK(error_len > 0);
    CHECK(strstr(error, "line") != NULL);
    free(garbage);
  }

  /* Over 16 MiB: TOO_LONG, before anything is parsed. */
  {
    size_t n = MISDIRECT_MAX_CONFIG_LEN + 1;
    char *big = must_malloc(n);
    memset(big, '#', n);
    server = sentinel;
    CHECK_RESULT(misdirect_server_from_toml(B(big, n), ABSENT, &server, (uint8_t *)error,
                                            sizeof error, &error_len),
                 MISDIRECT_RESULT_TOO_LONG);
    CHECK(server == NULL);
    CHECK(strstr(error, "16 MiB") != NULL);
    free(big);
  }

  /* The error buffer: full length first, then truncated to cap - 1 bytes and a NUL, with the
   * full length still returned; a NULL buffer with a length pointer gives the length only. */
  CHECK_RESULT(misdirect_server_from_toml(S("[knobs]\nsni = \"strickt\"\n"), ABSENT, &server,
                                          (uint8_t *)error, sizeof error, &full_len),
               MISDIRECT_RESULT_CONFIG);
  CHECK(full_len == strlen(error) && full_len > sizeof tiny);
  memset(tiny, 'x', sizeof tiny);
  error_len = 0;
  CHECK_RESULT(misdirect_server_from_toml(S("[knobs]\nsni = \"strickt\"\n"), ABSENT, &server,
                                          (uint8_t *)tiny, sizeof tiny, &error_len),
               MISDIRECT_RESULT_CONFIG);
  CHECK(error_len == full_len);
  CHECK(tiny[sizeof tiny - 1] == '\0');
  CHECK(strlen(tiny) == sizeof tiny - 1);
  CHECK(memcmp(tiny, error, sizeof tiny - 1) == 0);
  memset(tiny, 'x', sizeof tiny);
  CHECK_RESULT(misdirect_server_from_toml(S("[knobs]\nsni = \"strickt\"\n"), ABSENT, &server,
                                          (uint8_t *)tiny, 1, &error_len),
               MISDIRECT_RESULT_CONFIG);
  CHECK(tiny[0] == '\0' && tiny[1] == 'x');
  CHECK(error_len == full_len);
  error_len = 0;
  CHECK_RESULT(misdirect_server_from_toml(S("[knobs]\nsni = \"strickt\"\n"), ABSENT, &server,
                                          NULL, 0, &error_len),
               MISDIRECT_RESULT_CONFIG);
  CHECK(error_len == full_len);
  /* A NULL buffer with a nonzero capacity is no buffer. */
  error_len = 0;
  CHECK_RESULT(misdirect_server_from_toml(S("[knobs]\nsni = \"strickt\"\n"), ABSENT, &server,
                                          NULL, 64, &error_len),
               MISDIRECT_RESULT_CONFIG);
  CHECK(error_len == full_len);
  CHECK(server == NULL);
}

static void test_from_file(const unsigned char *wild_der, size_t wild_len) {
  char dir_template[] = "/tmp/misdirect-ffi-test-XXXXXX";
  char *dir = mkdtemp(dir_template);
  char path[512], pem_path[512], bad_path[512], error[1024];
  misdirect_server *server = NULL;
  misdirect_server *sentinel = (misdirect_server *)&checks;
  misdirect_str name;
  size_t error_len = 0;
  char *pem;
  static const char file_config[] =
      "[[listeners]]\nname = \"tls\"\ntls = true\nport = 443\n"
      "[[certificates]]\nid = \"edge\"\nfile = \"certs/edge.pem\"\n"
      "[[vhosts]]\nname = \"a\"\nnames = [\"a.example.test\"]\npolicy = \"public\"\n";

  CHECK(dir != NULL);
  if (dir == NULL) {
    return;
  }
  snprintf(path, sizeof path, "%s/certs", dir);
  CHECK(mkdir(path, 0700) == 0);
  snprintf(pem_path, sizeof pem_path, "%s/certs/edge.pem", dir);
  pem = pem_of(wild_der, wild_len);
  write_file(pem_path, pem, strlen(pem));
  free(pem);

  /* The real file, its certificate file relative to its own directory. */
  snprintf(path, sizeof path, "%s/server.toml", dir);
  write_file(path, file_config, strlen(file_config));
  CHECK_RESULT(misdirect_server_from_file(S(path), &server, (uint8_t *)error, sizeof error,
                                          &error_len),
               MISDIRECT_RESULT_OK);
  CHECK(server != NULL);
  CHECK(error_len == 0 && error[0] == '\0');
  if (server != NULL) {
    /* The SANs were read from the PEM file: the DER finds it. */
    CHECK_RESULT(misdirect_server_certificate_for_der(server, B(wild_der, wild_len), &name),
                 MISDIRECT_RESULT_OK);
    CHECK(str_is(name, "edge"));
    misdirect_server_free(server);
  }

  /* The same text, from_toml with the directory as base_dir; with another, the file is not
   * found and the message names the path it tried. */
  server = NULL;
  CHECK_RESULT(misdirect_server_from_toml(S(file_config), S(dir), &server, NULL, 0, NULL),
               MISDIRECT_RESULT_OK);
  CHECK(server != NULL);
  misdirect_server_free(server);
  server = sentinel;
  CHECK_RESULT(misdirect_server_from_toml(S(file_config), S("/nonexistent"), &server,
                                          (uint8_t *)error, sizeof error, &error_len),
               MISDIRECT_RESULT_CONFIG);
  CHECK(server == NULL);
  CHECK(strstr(error, "/nonexistent/certs/edge.pem") != NULL);

  /* A bad file: the message names it, and the line. */
  snprintf(bad_path, sizeof bad_path, "%s/bad.toml", dir);
  write_file(bad_path, "[knobs]\nsni = 7\n", 16);
  server = sentinel;
  CHECK_RESULT(misdirect_server_from_file(S(bad_path), &server, (uint8_t *)error, sizeof error,
                                          &error_len),
               MISDIRECT_RESULT_CONFIG);
  CHECK(server == NULL);
  CHECK(strstr(error, bad_path) != NULL);
  CHECK(strstr(error, "line 2") != NULL);
  CHECK(error_len == strlen(error));

  /* A missing file: CONFIG, the message names it. */
  snprintf(path, sizeof path, "%s/missing.toml", dir);
  server = sentinel;
  CHECK_RESULT(misdirect_server_from_file(S(path), &server, (uint8_t *)error, sizeof error,
                                          &error_len),
               MISDIRECT_RESULT_CONFIG);
  CHECK(server == NULL);
  CHECK(strstr(error, path) != NULL);
  CHECK(error_len == strlen(error));
  /* A path need not be UTF-8 (any bytes on Unix): still just a missing file. */
  {
    static const char odd[] = "/nonexistent/\xff\xfe.toml";
    server = sentinel;
    CHECK_RESULT(misdirect_server_from_file(B(odd, sizeof odd - 1), &server, NULL, 0, NULL),
                 MISDIRECT_RESULT_CONFIG);
    CHECK(server == NULL);
  }
  /* A path with a NUL byte cannot be opened: CONFIG, not a crash. */
  server = sentinel;
  CHECK_RESULT(misdirect_server_from_file(B("server\0.toml", 12), &server, NULL, 0, NULL),
               MISDIRECT_RESULT_CONFIG);
  CHECK(server == NULL);

  /* NULL arguments. */
  CHECK_RESULT(misdirect_server_from_file(S(path), NULL, NULL, 0, NULL),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  server = sentinel;
  CHECK_RESULT(misdirect_server_from_file(ABSENT, &server, NULL, 0, NULL),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK(server == NULL);
  server = sentinel;
  CHECK_RESULT(misdirect_server_from_file(B(NULL, 4), &server, NULL, 0, NULL),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK(server == NULL);
  memset(error, 'x', sizeof error);
  error_len = 12345;
  server = sentinel;
  CHECK_RESULT(misdirect_server_from_file(ABSENT, &server, (uint8_t *)error, sizeof error,
                                          &error_len),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK(server == NULL);
  CHECK(strcmp(error, "a NULL argument") == 0 && error_len == 15);

  /* Clean up. */
  remove(pem_path);
  remove(bad_path);
  snprintf(path, sizeof path, "%s/server.toml", dir);
  remove(path);
  snprintf(path, sizeof path, "%s/certs", dir);
  CHECK(rmdir(path) == 0);
  CHECK(rmdir(dir) == 0);
}

static void test_server_queries(const misdirect_server *server, const misdirect_server *bare,
                                const unsigned char *wild_der, size_t wild_len,
                                const unsigned char *other_der, size_t other_len) {
  misdirect_str name, vhost, policy;
  misdirect_policy p;
  static const char not_utf8[] = "tl\xffs";

  /* misdirect_server_listener_for */
  CHECK_RESULT(misdirect_server_listener_for(server, 1, 8443, &name), MISDIRECT_RESULT_OK);
  CHECK(str_is(name, "tls"));
  CHECK_RESULT(misdirect_server_listener_for(server, 0, 8080, &name), MISDIRECT_RESULT_OK);
  CHECK(str_is(name, "plain"));
  CHECK_RESULT(misdirect_server_listener_for(server, 1, 8080, &name),
               MISDIRECT_RESULT_UNKNOWN_LISTENER);
  CHECK_RESULT(misdirect_server_listener_for(server, 0, 8443, &name),
               MISDIRECT_RESULT_UNKNOWN_LISTENER);
  CHECK_RESULT(misdirect_server_listener_for(server, 1, 443, &name),
               MISDIRECT_RESULT_UNKNOWN_LISTENER);
  CHECK_RESULT(misdirect_server_listener_for(server, 2, 8443, &name),
               MISDIRECT_RESULT_INVALID_ARGUMENT);
  CHECK_RESULT(misdirect_server_listener_for(server, 255, 8443, &name),
               MISDIRECT_RESULT_INVALID_ARGUMENT);
  CHECK_RESULT(misdirect_server_listener_for(NULL, 1, 8443, &name),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK_RESULT(misdirect_server_listener_for(server, 1, 8443, NULL),
               MISDIRECT_RESULT_NULL_ARGUMENT);

  /* misdirect_server_certificate_for_der: the SANs *.example.test and example.test, listed
   * the other way round in the configuration, find "wild"; in capitals, "caps". */
  name = ABSENT;
  CHECK_RESULT(misdirect_server_certificate_for_der(server, B(wild_der, wild_len), &name),
               MISDIRECT_RESULT_OK);
  CHECK(str_is(name, "wild"));
  name = ABSENT;
  CHECK_RESULT(misdirect_server_certificate_for_der(bare, B(wild_der, wild_len), &name),
               MISDIRECT_RESULT_OK);
  CHECK(str_is(name, "caps"));
  CHECK_RESULT(misdirect_server_certificate_for_der(server, B(other_der, other_len), &name),
               MISDIRECT_RESULT_UNKNOWN_CERTIFICATE);
  CHECK_RESULT(misdirect_server_certificate_for_der(server, S("this is not DER"), &name),
               MISDIRECT_RESULT_BAD_CERTIFICATE);
  CHECK_RESULT(misdirect_server_certificate_for_der(server, B(wild_der, wild_len / 2), &name),
               MISDIRECT_RESULT_BAD_CERTIFICATE);
  CHECK_RESULT(misdirect_server_certificate_for_der(server, B(wild_der, 0), &name),
               MISDIRECT_RESULT_BAD_CERTIFICATE);
  CHECK_RESULT(misdirect_server_certificate_for_der(server, ABSENT, &name),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK_RESULT(misdirect_server_certificate_for_der(server, B(NULL, wild_len), &name),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK_RESULT(misdirect_server_certificate_for_der(NULL, B(wild_der, wild_len), &name),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK_RESULT(misdirect_server_certificate_for_der(server, B(wild_der, wild_len), NULL),
               MISDIRECT_RESULT_NULL_ARGUMENT);

  /* misdirect_server_policy */
  memset(&p, 0xff, sizeof p);
  CHECK_RESULT(misdirect_server_policy(server, S("public"), &p), MISDIRECT_RESULT_OK);
  CHECK(p.client_auth == MISDIRECT_CLIENT_AUTH_NONE);
  CHECK(p.versions == (MISDIRECT_TLS_1_2 | MISDIRECT_TLS_1_3));
  CHECK_RESULT(misdirect_server_policy(server, S("mtls"), &p), MISDIRECT_RESULT_OK);
  CHECK(p.client_auth == MISDIRECT_CLIENT_AUTH_REQUIRED);
  CHECK(p.versions == MISDIRECT_TLS_1_3);
  CHECK_RESULT(misdirect_server_policy(bare, S("bare"), &p), MISDIRECT_RESULT_OK);
  CHECK(p.client_auth == MISDIRECT_CLIENT_AUTH_UNDECLARED);
  CHECK(p.versions == 0);
  CHECK_RESULT(misdirect_server_policy(server, S("bare"), &p), MISDIRECT_RESULT_UNKNOWN_POLICY);
  CHECK_RESULT(misdirect_server_policy(server, S("MTLS"), &p), MISDIRECT_RESULT_UNKNOWN_POLICY);
  CHECK_RESULT(misdirect_server_policy(server, B(not_utf8, sizeof not_utf8 - 1), &p),
               MISDIRECT_RESULT_NOT_UTF8);
  CHECK_RESULT(misdirect_server_policy(server, ABSENT, &p), MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK_RESULT(misdirect_server_policy(server, B(NULL, 4), &p), MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK_RESULT(misdirect_server_policy(NULL, S("public"), &p), MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK_RESULT(misdirect_server_policy(server, S("public"), NULL),
               MISDIRECT_RESULT_NULL_ARGUMENT);

  /* misdirect_server_sni */
  /* misdirect_server_vhost_for_name: the names alone, per scheme, no default */
  CHECK_RESULT(misdirect_server_vhost_for_name(server, S("tls"), S("ADMIN.example.test."), &vhost),
               MISDIRECT_RESULT_OK);
  CHECK(str_is(vhost, "admin"));
  CHECK_RESULT(misdirect_server_vhost_for_name(server, S("plain"), S("a.example.test"), &vhost),
               MISDIRECT_RESULT_OK);
  CHECK(str_is(vhost, "a"));
  CHECK_RESULT(misdirect_server_vhost_for_name(server, S("plain"), S("admin.example.test"), &vhost),
               MISDIRECT_RESULT_NOT_FOUND); /* admin serves no http port */
  CHECK_RESULT(misdirect_server_vhost_for_name(server, S("tls"), S("nothing.example.test"), &vhost),
               MISDIRECT_RESULT_NOT_FOUND); /* the listener's default_tls_vhost is not a name */
  CHECK_RESULT(misdirect_server_vhost_for_name(server, S("tls"), S("a..example.test"), &vhost),
               MISDIRECT_RESULT_NOT_FOUND);
  CHECK_RESULT(misdirect_server_vhost_for_name(server, S("nope"), S("a.example.test"), &vhost),
               MISDIRECT_RESULT_UNKNOWN_LISTENER);
  CHECK_RESULT(misdirect_server_vhost_for_name(server, B(not_utf8, 4), S("a.example.test"), &vhost),
               MISDIRECT_RESULT_NOT_UTF8);
  CHECK_RESULT(misdirect_server_vhost_for_name(NULL, S("tls"), S("a.example.test"), &vhost),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK_RESULT(misdirect_server_vhost_for_name(server, S("tls"), ABSENT, &vhost),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK_RESULT(misdirect_server_vhost_for_name(server, S("tls"), S("a.example.test"), NULL),
               MISDIRECT_RESULT_NULL_ARGUMENT);

  CHECK_RESULT(misdirect_server_sni(server, S("tls"), S("admin.example.test"), &vhost, &policy),
               MISDIRECT_RESULT_OK);
  CHECK(str_is(vhost, "admin"));
  CHECK(str_is(policy, "mtls"));
  CHECK_RESULT(misdirect_server_sni(server, S("tls"), S("ADMIN.Example.Test."), &vhost, &policy),
               MISDIRECT_RESULT_OK);
  CHECK(str_is(vhost, "admin"));
  /* No SNI, an unknown one, an IP literal: the listener's default_tls_vhost. */
  CHECK_RESULT(misdirect_server_sni(server, S("tls"), ABSENT, &vhost, &policy),
               MISDIRECT_RESULT_OK);
  CHECK(str_is(vhost, "a"));
  CHECK(str_is(policy, "public"));
  CHECK_RESULT(misdirect_server_sni(server, S("tls"), S("nothing.example.test"), &vhost, &policy),
               MISDIRECT_RESULT_OK);
  CHECK(str_is(vhost, "a"));
  CHECK_RESULT(misdirect_server_sni(server, S("tls"), S("192.0.2.1"), &vhost, NULL),
               MISDIRECT_RESULT_OK);
  CHECK(str_is(vhost, "a"));
  /* Raw SNI bytes need not be UTF-8. */
  CHECK_RESULT(misdirect_server_sni(server, S("tls"), B("\xff\x00x", 3), NULL, &policy),
               MISDIRECT_RESULT_OK);
  CHECK(str_is(policy, "public"));
  CHECK_RESULT(misdirect_server_sni(server, S("tls"), S("admin.example.test"), NULL, NULL),
               MISDIRECT_RESULT_OK);
  /* No default: NOT_FOUND; a cleartext listener selects nothing either. */
  CHECK_RESULT(misdirect_server_sni(bare, S("tls"), S("nothing.example.test"), &vhost, &policy),
               MISDIRECT_RESULT_NOT_FOUND);
  CHECK_RESULT(misdirect_server_sni(bare, S("tls"), S("www.example.test"), &vhost, &policy),
               MISDIRECT_RESULT_OK);
  CHECK(str_is(vhost, "w"));
  CHECK(str_is(policy, "bare"));
  CHECK_RESULT(misdirect_server_sni(server, S("plain"), S("a.example.test"), &vhost, &policy),
               MISDIRECT_RESULT_NOT_FOUND);
  CHECK_RESULT(misdirect_server_sni(server, S("nope"), S("a.example.test"), &vhost, &policy),
               MISDIRECT_RESULT_UNKNOWN_LISTENER);
  CHECK_RESULT(misdirect_server_sni(server, B(not_utf8, sizeof not_utf8 - 1), ABSENT, &vhost,
                                    &policy),
               MISDIRECT_RESULT_NOT_UTF8);
  CHECK_RESULT(misdirect_server_sni(server, ABSENT, ABSENT, &vhost, &policy),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK_RESULT(misdirect_server_sni(server, B(NULL, 3), ABSENT, &vhost, &policy),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK_RESULT(misdirect_server_sni(server, S("tls"), B(NULL, 3), &vhost, &policy),
               MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK_RESULT(misdirect_server_sni(NULL, S("tls"), ABSENT, &vhost, &policy),
               MISDIRECT_RESULT_NULL_ARGUMENT);
}

static void test_connection_new(const misdirect_server *server) {
  misdirect_connection *c = NULL;
  misdirect_connection *sentinel = (misdirect_connection *)&checks;
  misdirect_facts f;
  static const char not_utf8[] = "wi\xffld";

  /* The good ones: with and without a recorded policy, without SNI, with raw SNI bytes. */
  f = tls_facts("a.example.test", "wild", "public");
  CHECK_RESULT(misdirect_connection_new(server, &f, &c), MISDIRECT_RESULT_OK);
  CHECK(c != NULL);
  misdirect_connection_free(c);
  c = NULL;
  f = tls_facts("a.example.test", "wild", NULL);
  CHECK_RESULT(misdirect_connection_new(server, &f, &c), MISDIRECT_RESULT_OK);
  CHECK(c != NULL);
  misdirect_connection_free(c);
  c = NULL;
  f = tls_facts(NULL, "other", "public");
  CHECK_RESULT(misdirect_connection_new(server, &f, &c), MISDIRECT_RESULT_OK);
  CHECK(c != NULL);
  misdirect_connection_free(c);
  c = NULL;
  f = tls_facts(NULL, "wild", "public");
  f.sni = B("\xff\x00\xfe", 3);
  CHECK_RESULT(misdirect_connection_new(server, &f, &c), MISDIRECT_RESULT_OK);
  CHECK(c != NULL);
  misdirect_connection_free(c);
  c = NULL;
  f = plain_facts();
  CHECK_RESULT(misdirect_connection_new(server, &f, &c), MISDIRECT_RESULT_OK);
  CHECK(c != NULL);
  misdirect_connection_free(c);

  /* NULL arguments, each in turn: *out is NULL after. */
  f = tls_facts("a.example.test", "wild", "public");
  c = sentinel;
  CHECK_RESULT(misdirect_connection_new(NULL, &f, &c), MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK(c == NULL);
  c = sentinel;
  CHECK_RESULT(misdirect_connection_new(server, NULL, &c), MISDIRECT_RESULT_NULL_ARGUMENT);
  CHECK(c == NULL);
  CHECK_RESULT(misdirect_connection_new(server, &f, NULL), MISDIRECT_RESULT_NULL_ARGUMENT);

#define FACTS_FAIL(setup, expected)                                                        \
  do {                                                                                     \
    f = tls_facts("a.example.test", "wild", "public");                                     \
    setup;                                                                                 \
    c = sentinel;                                                                          \
    CHECK_RESULT(misdirect_connection_new(server, &f, &c), expected);                      \
    CHECK(c == NULL);                                                                      \
  } while (0)

  FACTS_FAIL(f.listener = ABSENT, MISDIRECT_RESULT_NULL_ARGUMENT);
  FACTS_FAIL(f.listener = B(NULL, 3), MISDIRECT_RESULT_NULL_ARGUMENT);
  FACTS_FAIL(f.certificate = ABSENT, MISDIRECT_RESULT_NULL_ARGUMENT);
  FACTS_FAIL(f.certificate = B(NULL, 4), MISDIRECT_RESULT_NULL_ARGUMENT);
  FACTS_FAIL(f.policy = B(NULL, 6), MISDIRECT_RESULT_NULL_ARGUMENT);
  FACTS_FAIL(f.sni = B(NULL, 14), MISDIRECT_RESULT_NULL_ARGUMENT);
  FACTS_FAIL(f.listener = B(not_utf8, sizeof not_utf8 - 1), MISDIRECT_RESULT_NOT_UTF8);
  FACTS_FAIL(f.certificate = B(not_utf8, sizeof not_utf8 - 1), MISDIRECT_RESULT_NOT_UTF8);
  FACTS_FAIL(f.policy = B(not_utf8, sizeof not_utf8 - 1), MISDIRECT_RESULT_NOT_UTF8);
  FACTS_FAIL(f.listener = S("nope"), MISDIRECT_RESULT_UNKNOWN_LISTENER);
  FACTS_FAIL(f.certificate = S("nope"), MISDIRECT_RESULT_UNKNOWN_CERTIFICATE);
  FACTS_FAIL(f.policy = S("nope"), MISDIRECT_RESULT_UNKNOWN_POLICY);
  FACTS_FAIL(f.tls = 2, MISDIRECT_RESULT_INVALID_ARGUMENT);
  FACTS_FAIL(f.tls = 255, MISDIRECT_RESULT_INVALID_ARGUMENT);
  /* TLS facts on the cleartext listener, and none on the TLS one. */
  FACTS_FAIL(f.listener = S("plain"), MISDIRECT_RESULT_TLS_MISMATCH);
  FACTS_FAIL(f.tls = 0, MISDIRECT_RESULT_TLS_MISMATCH);
#undef FACTS_FAIL

  /* Freeing NULL does nothing. */
  misdirect_connection_free(NULL);
  misdirect_server_free(NULL);
}

static void test_decide(const misdirect_server *server, const misdirect_server *bare) {
  misdirect_connection *tls = connect_to(server, tls_facts("a.example.test", "wild", "public"));
  misdirect_connection *plain = connect_to(server, plain_facts());
  misdirect_connection *foreign;
  misdirect_request q;
  outcome o, o2;
  misdirect_str values[MISDIRECT_MAX_FIELDS * 3];
  misdirect_str one[1];
  misdirect_str two[2];
  size_t i;

  /* HTTP/2 with :authority: served, the vhost named. */
  q = request(MISDIRECT_HTTP_2);
  q.scheme = S("https");
  one[0] = S("a.example.test:8443");
  q.authorities = one;
  q.authorities_len = 1;
  o = decide(server, tls, &q);
  check_serve(&o, "a");
  CHECK(o.reason[0] == '\0');
  /* HTTP/3 alike, with the port, in capitals. */
  q.version = MISDIRECT_HTTP_3;
  one[0] = S("A.EXAMPLE.TEST:8443");
  o = decide(server, tls, &q);
  check_serve(&o, "a");
  /* HTTP/1.1 origin-form with Host. */
  q = request(MISDIRECT_HTTP_1_1);
  one[0] = S("a.example.test:8443");
  q.hosts = one;
  q.hosts_len = 1;
  o = decide(server, tls, &q);
  check_serve(&o, "a");
  /* HTTP/1.1 absolute-form: the target's authority, Host agreeing. */
  q.target = MISDIRECT_TARGET_ABSOLUTE;
  q.target_scheme = S("https");
  q.target_authority = S("a.example.test:8443");
  o = decide(server, tls, &q);
  check_serve(&o, "a");
  /* ... and Host naming another authority: 400 (strict_host_consistency). */
  one[0] = S("other.test:8443");
  o = decide(server, tls, &q);
  check_bad_request(&o);
  /* ... absolute-form on the cleartext listener, Host absent: still HTTP/1.1, so 400. */
  q = request(MISDIRECT_HTTP_1_1);
  q.target = MISDIRECT_TARGET_ABSOLUTE;
  q.target_scheme = S("http");
  q.target_authority = S("a.example.test:8080");
  o = decide(server, plain, &q);
  check_bad_request(&o);
  one[0] = S("a.example.test:8080");
  q.hosts = one;
  q.hosts_len = 1;
  o = decide(server, plain, &q);
  check_serve(&o, "a");
  /* Asterisk-form (OPTIONS *) with Host. */
  q = request(MISDIRECT_HTTP_1_1);
  q.target = MISDIRECT_TARGET_ASTERISK;
  one[0] = S("a.example.test:8443");
  q.hosts = one;
  q.hosts_len = 1;
  o = decide(server, tls, &q);
  check_serve(&o, "a");

  /* 421, rule 6: admin.example.test is covered by the certificate and served on this port, but
   * needs the mTLS policy: a request coalesced onto a's public connection. */
  q = request(MISDIRECT_HTTP_2);
  q.scheme = S("https");
  one[0] = S("admin.example.test:8443");
  q.authorities = one;
  q.authorities_len = 1;
  o = decide(server, tls, &q);
  check_misdirected(&o, 6);
  CHECK(strstr(o.reason, "admin") != NULL);
  CHECK(strstr(o.reason, "mtls") != NULL);
  CHECK(str_is(o.d.summary,
               "the host needs a connection made under another TLS configuration"));
  /* The summary names nothing of the request. */
  CHECK(!str_contains(o.d.summary, "admin"));
  /* 421, rule 4: a virtual host of this listener the certificate does not cover. */
  one[0] = S("other.test:8443");
  o = decide(server, tls, &q);
  check_misdirected(&o, 4);
  CHECK(strstr(o.reason, "other.test") != NULL);
  CHECK(strstr(o.reason, "wild") != NULL);
  /* 421, rule 3: a port this connection does not serve. */
  one[0] = S("a.example.test:9443");
  o = decide(server, tls, &q);
  check_misdirected(&o, 3);
  CHECK(strstr(o.reason, "9443") != NULL);
  /* 421, rule 5: covered, but no virtual host. */
  one[0] = S("nothing.example.test:8443");
  o = decide(server, tls, &q);
  check_misdirected(&o, 5);
  /* 421, rule 2: http on TLS. */
  one[0] = S("a.example.test:8443");
  q.scheme = S("http");
  o = decide(server, tls, &q);
  check_misdirected(&o, 2);
  /* 400: no :scheme. */
  q.scheme = ABSENT;
  o = decide(server, tls, &q);
  check_bad_request(&o);
  /* 400: two :authority. */
  q.scheme = S("https");
  two[0] = S("a.example.test:8443");
  two[1] = S("a.example.test:8443");
  q.authorities = two;
  q.authorities_len = 2;
  o = decide(server, tls, &q);
  check_bad_request(&o);

  /* HTTP/1.1: two Host lines; userinfo; 64 KiB; not UTF-8; a NUL byte; no Host. */
  q = request(MISDIRECT_HTTP_1_1);
  two[0] = S("a.example.test:8443");
  two[1] = S("a.example.test:8443");
  q.hosts = two;
  q.hosts_len = 2;
  o = decide(server, tls, &q);
  check_bad_request(&o);
  CHECK(str_is(o.d.summary, "more than one Host field line"));
  /* More than MISDIRECT_MAX_FIELDS values: the same verdict, rule and reason as two. */
  for (i = 0; i < COUNT(values); i++) {
    values[i] = S("a.example.test:8443");
  }
  q.hosts = values;
  for (i = 3; i <= COUNT(values); i += (i < MISDIRECT_MAX_FIELDS + 2 ? 1 : 7)) {
    q.hosts_len = i;
    o2 = decide(server, tls, &q);
    check_bad_request(&o2);
    CHECK(o2.d.rule == o.d.rule);
    CHECK(o2.d.reason_len == o.d.reason_len);
    CHECK(strcmp(o2.reason, o.reason) == 0);
  }
  q.hosts_len = (size_t)-1; /* only MISDIRECT_MAX_FIELDS of them are read */
  o2 = decide(server, tls, &q);
  check_bad_request(&o2);
  CHECK(strcmp(o2.reason, o.reason) == 0);
  /* The same on HTTP/2 :authority. */
  q = request(MISDIRECT_HTTP_2);
  q.scheme = S("https");
  q.authorities = two;
  q.authorities_len = 2;
  o = decide(server, tls, &q);
  check_bad_request(&o);
  q.authorities = values;
  q.authorities_len = COUNT(values);
  o2 = decide(server, tls, &q);
  check_bad_request(&o2);
  CHECK(strcmp(o2.reason, o.reason) == 0);

  q = request(MISDIRECT_HTTP_1_1);
  one[0] = S("user@a.example.test:8443");
  q.hosts = one;
  q.hosts_len = 1;
  o = decide(server, tls, &q);
  check_bad_request(&o);
  CHECK(strstr(o.reason, "userinfo") != NULL);
  {
    size_t n = 64 * 1024;
    char *huge = must_malloc(n);
    memset(huge, 'a', n);
    one[0] = B(huge, n);
    o = decide(server, tls, &q);
    check_bad_request(&o);
    CHECK(strstr(o.reason, "65536") != NULL);
    /* 64 KiB of dotted labels. */
    for (i = 1; i < n; i += 2) {
      huge[i] = '.';
    }
    o = decide(server, tls, &q);
    check_bad_request(&o);
    free(huge);
  }
  {
    static const char non_utf8[] = "a.\xff\xfe\xc3.example.test";
    one[0] = B(non_utf8, sizeof non_utf8 - 1);
    o = decide(server, tls, &q);
    check_bad_request(&o); /* a verdict, not NOT_UTF8 */
    /* Valid UTF-8, but raw Unicode: refused under wire_unicode = "reject". */
    one[0] = S("b\xc3\xbc" "cher.example.test");
    o = decide(server, tls, &q);
    check_bad_request(&o);
  }
  one[0] = B("a.example.test\0.evil.test", 25);
  o = decide(server, tls, &q);
  check_bad_request(&o);
  CHECK(strstr(o.reason, "0x00") != NULL); /* the byte, escaped */
  CHECK(strstr(o.reason, "evil") == NULL); /* request bytes are not echoed */
  one[0] = B("", 0);
  o = decide(server, tls, &q);
  check_bad_request(&o);
  one[0] = ABSENT; /* an absent value is an empty one */
  o = decide(server, tls, &q);
  check_bad_request(&o);
  q.hosts_len = 0;
  q.hosts = NULL;
  o = decide(server, tls, &q);
  check_bad_request(&o);
  CHECK(str_is(o.d.summary, "HTTP/1.1 request without a Host field"));
  /* Authority-form without CONNECT. */
  q.target = MISDIRECT_TARGET_AUTHORITY;
  q.target_authority = S("a.example.test:8443");
  one[0] = S("a.example.test:8443");
  q.hosts = one;
  q.hosts_len = 1;
  o = decide(server, tls, &q);
  check_bad_request(&o);

  /* HTTP/1.0 without Host: the listener's default_vhost (knob http10_default_vhost) on the
   * cleartext listener; the TLS one has none: 400. */
  q = request(MISDIRECT_HTTP_1_0);
  o = decide(server, plain, &q);
  check_serve(&o, "a");
  o = decide(server, tls, &q);
  check_bad_request(&o);
  /* HTTP/1.0 with Host is judged as any other. */
  one[0] = S("admin.example.test:8080");
  q.hosts = one;
  q.hosts_len = 1;
  o = decide(server, plain, &q);
  check_misdirected(&o, 5);
  /* Cleartext: https on it is rule 2. */
  q = request(MISDIRECT_HTTP_2);
  q.scheme = S("https");
  one[0] = S("a.example.test:8080");
  q.authorities = one;
  q.authorities_len = 1;
  o = decide(server, plain, &q);
  check_misdirected(&o, 2);
  q.scheme = S("http");
  o = decide(server, plain, &q);
  check_serve(&o, "a");

  /* CONNECT: not an origin request, status 0, rule 0. */
  q = request(MISDIRECT_HTTP_1_1);
  q.method = MISDIRECT_METHOD_CONNECT;
  q.target = MISDIRECT_TARGET_AUTHORITY;
  q.target_authority = S("a.example.test:443");
  one[0] = S("a.example.test:443");
  q.hosts = one;
  q.hosts_len = 1;
  o = decide(server, tls, &q);
  check_refused(&o, MISDIRECT_VERDICT_NOT_ORIGIN, 0, 0);
  CHECK(str_is(o.d.summary, "CONNECT names a tunnel target"));
  q = request(MISDIRECT_HTTP_2);
  q.method = MISDIRECT_METHOD_CONNECT;
  one[0] = S("tunnel.example.net:22");
  q.authorities = one;
  q.authorities_len = 1;
  o = decide(server, tls, &q);
  check_refused(&o, MISDIRECT_VERDICT_NOT_ORIGIN, 0, 0);
  /* Extended CONNECT is an origin request. */
  q.method = MISDIRECT_METHOD_EXTENDED_CONNECT;
  q.scheme = S("https");
  one[0] = S("a.example.test:8443");
  o = decide(server, tls, &q);
  check_serve(&o, "a");

  /* The reason buffer. First the full line, then NULL with cap 0 (the length only), then a
   * tiny buffer (truncated, NUL-terminated, the full length), then a 1-byte one. */
  q = request(MISDIRECT_HTTP_2);
  q.scheme = S("https");
  one[0] = S("admin.example.test:8443");
  q.authorities = one;
  q.authorities_len = 1;
  o = decide(server, tls, &q);
  check_misdirected(&o, 6);
  {
    misdirect_decision d;
    char tiny[8];
    memset(&d, 0x5a, sizeof d);
    CHECK_RESULT(misdirect_decide(server, tls, &q, &d, NULL, 0), MISDIRECT_RESULT_OK);
    CHECK(d.verdict == MISDIRECT_VERDICT_MISDIRECTED);
    CHECK(d.rule == 6);
    CHECK(d.reason_len == o.d.reason_len);
    memset(&d, 0x5a, sizeof d);
    CHECK_RESULT(misdirect_decide(server, tls, &q, &d, NULL, 100), MISDIRECT_RESULT_OK);
    CHECK(d.reason_len == o.d.reason_len);
    memset(tiny, 'x', sizeof tiny);
    CHECK_RESULT(misdirect_decide(server, tls, &q, &d, (uint8_t *)tiny, sizeof tiny),
                 MISDIRECT_RESULT_OK);
    CHECK(d.reason_len == o.d.reason_len);
    CHECK(tiny[sizeof tiny - 1] == '\0');
    CHECK(strlen(tiny) == sizeof tiny - 1);
    CHECK(memcmp(tiny, o.reason, sizeof tiny - 1) == 0);
    memset(tiny, 'x', sizeof tiny);
    CHECK_RESULT(misdirect_decide(server, tls, &q, &d, (uint8_t *)tiny, 1), MISDIRECT_RESULT_OK);
    CHECK(tiny[0] == '\0' && tiny[1] == 'x');
    CHECK(d.reason_len == o.d.reason_len);
    /* Exactly the length: one byte short of the NUL. */
    {
      char *exact = must_malloc(o.d.reason_len + 1);
      memset(exact, 'x', o.d.reason_len + 1);
      CHECK_RESULT(misdirect_decide(server, tls, &q, &d, (uint8_t *)exact, o.d.reason_len),
                   MISDIRECT_RESULT_OK);
      CHECK(exact[o.d.reason_len - 1] == '\0');
      CHECK(exact[o.d.reason_len] == 'x');
      CHECK(memcmp(exact, o.reason, o.d.reason_len - 1) == 0);
      CHECK_RESULT(misdirect_decide(server, tls, &q, &d, (uint8_t *)exact, o.d.reason_len + 1),
                   MISDIRECT_RESULT_OK);
      CHECK(strcmp(exact, o.reason) == 0);
      free(exact);
    }
    /* A served request empties the buffer. */
    one[0] = S("a.example.test:8443");
    memset(tiny, 'x', sizeof tiny);
    CHECK_RESULT(misdirect_decide(server, tls, &q, &d, (uint8_t *)tiny, sizeof tiny),
                 MISDIRECT_RESULT_OK);
    CHECK(d.verdict == MISDIRECT_VERDICT_SERVE && d.reason_len == 0 && tiny[0] == '\0');
  }

  /* Errors: each pointer NULL in turn, NULL arrays and strings with a length, constants out of
   * range. */
  {
    misdirect_decision d;
    char buf[64];
    q = request(MISDIRECT_HTTP_2);
    q.scheme = S("https");
    one[0] = S("a.example.test:8443");
    q.authorities = one;
    q.authorities_len = 1;
    /* A length past PTRDIFF_MAX (a difference of pointers into two buffers, as an nginx
     * module once computed) is refused before anything is read. */
    {
      misdirect_request huge = q;
      misdirect_str wild[1];
      wild[0].data = (const uint8_t *)"a.example.test:8443";
      wild[0].len = (size_t)PTRDIFF_MAX + 1;
      huge.authorities = wild;
      CHECK_RESULT(misdirect_decide(server, tls, &huge, &d, (uint8_t *)buf, sizeof buf),
                   MISDIRECT_RESULT_TOO_LONG);
    }
    CHECK_RESULT(misdirect_decide(NULL, tls, &q, &d, (uint8_t *)buf, sizeof buf),
                 MISDIRECT_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(misdirect_decide(server, NULL, &q, &d, (uint8_t *)buf, sizeof buf),
                 MISDIRECT_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(misdirect_decide(server, tls, NULL, &d, (uint8_t *)buf, sizeof buf),
                 MISDIRECT_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(misdirect_decide(server, tls, &q, NULL, (uint8_t *)buf, sizeof buf),
                 MISDIRECT_RESULT_NULL_ARGUMENT);
#define DECIDE_FAIL(setup, expected)                                                       \
  do {                                                                                     \
    misdirect_request r_ = q;                                                              \
    misdirect_request *rq_ = &r_;                                                          \
    (void)rq_;                                                                             \
    setup;                                                                                 \
    CHECK_RESULT(misdirect_decide(server, tls, &r_, &d, (uint8_t *)buf, sizeof buf),        \
                 expected);                                                                \
  } while (0)
    DECIDE_FAIL(rq_->authorities = NULL, MISDIRECT_RESULT_NULL_ARGUMENT);
    DECIDE_FAIL((rq_->hosts = NULL, rq_->hosts_len = 1), MISDIRECT_RESULT_NULL_ARGUMENT);
    DECIDE_FAIL(rq_->scheme = B(NULL, 5), MISDIRECT_RESULT_NULL_ARGUMENT);
    DECIDE_FAIL((rq_->target = MISDIRECT_TARGET_ABSOLUTE, rq_->target_scheme = B(NULL, 5)),
                MISDIRECT_RESULT_NULL_ARGUMENT);
    DECIDE_FAIL((rq_->target = MISDIRECT_TARGET_AUTHORITY, rq_->target_authority = B(NULL, 5)),
                MISDIRECT_RESULT_NULL_ARGUMENT);
    two[0] = S("a.example.test:8443");
    two[1] = B(NULL, 3);
    DECIDE_FAIL((rq_->authorities = two, rq_->authorities_len = 2),
                MISDIRECT_RESULT_NULL_ARGUMENT);
    DECIDE_FAIL(rq_->version = 4, MISDIRECT_RESULT_INVALID_ARGUMENT);
    DECIDE_FAIL(rq_->version = 0xffffffffu, MISDIRECT_RESULT_INVALID_ARGUMENT);
    DECIDE_FAIL(rq_->method = 3, MISDIRECT_RESULT_INVALID_ARGUMENT);
    DECIDE_FAIL(rq_->target = 4, MISDIRECT_RESULT_INVALID_ARGUMENT);
#undef DECIDE_FAIL
    /* A target's strings are only read in their form: NULL with a length elsewhere is not
     * looked at. */
    q.target_authority = B(NULL, 5);
    CHECK_RESULT(misdirect_decide(server, tls, &q, &d, (uint8_t *)buf, sizeof buf),
                 MISDIRECT_RESULT_OK);
    CHECK(d.verdict == MISDIRECT_VERDICT_SERVE);
  }

  /* A connection made on another server: 421, rule 7 (its facts mean nothing here). */
  foreign = connect_to(bare, tls_facts("www.example.test", "caps", NULL));
  q = request(MISDIRECT_HTTP_2);
  q.scheme = S("https");
  one[0] = S("a.example.test:8443");
  q.authorities = one;
  q.authorities_len = 1;
  o = decide(server, foreign, &q);
  check_misdirected(&o, 7);
  /* On its own server, the undeclared policy the handshake is assumed to have is the
   * virtual host's: served. */
  one[0] = S("www.example.test");
  o = decide(bare, foreign, &q);
  check_serve(&o, "w");
  misdirect_connection_free(foreign);

  misdirect_connection_free(tls);
  misdirect_connection_free(plain);
}

/* ---------------------------------------------------------------------------------------- */
/* Two threads deciding on one server and one connection. */

#define THREAD_ROUNDS 3000

typedef struct {
  misdirect_request q;
  misdirect_str authority;
  misdirect_str hosts[2];
  outcome expected;
} thread_case;

typedef struct {
  const misdirect_server *server;
  const misdirect_connection *connection;
  thread_case *cases;
  size_t count;
  unsigned long decisions;
  unsigned long mismatches;
} thread_work;

static void *decide_many(void *arg) {
  thread_work *w = arg;
  int round;
  size_t i;
  for (round = 0; round < THREAD_ROUNDS; round++) {
    for (i = 0; i < w->count; i++) {
      /* Each thread walks the cases from its own end, so that they differ at each moment. */
      thread_case *c = &w->cases[(round % 2) ? w->count - 1 - i : i];
      outcome o = decide(w->server, w->connection, &c->q);
      w->decisions++;
      if (o.result != c->expected.result || o.d.verdict != c->expected.d.verdict ||
          o.d.status != c->expected.d.status || o.d.rule != c->expected.d.rule ||
          o.d.reason_len != c->expected.d.reason_len ||
          o.d.vhost.data != c->expected.d.vhost.data ||
          strcmp(o.reason, c->expected.reason) != 0) {
        w->mismatches++;
      }
    }
  }
  return NULL;
}

static void test_threads(const misdirect_server *server) {
  static const char *authorities[] = {
      "a.example.test:8443",       "admin.example.test:8443", "other.test:8443",
      "a.example.test:1",          "nothing.example.test:8443",
      "user@a.example.test:8443", "A.Example.Test.:8443",
  };
  thread_case cases[COUNT(authorities) + 1];
  misdirect_connection *conn = connect_to(server, tls_facts("a.example.test", "wild", "public"));
  thread_work main_work, other_work;
  pthread_t thread;
  size_t i, n = 0;
  int started;

  for (i = 0; i < COUNT(authorities); i++, n++) {
    cases[n].q = request(MISDIRECT_HTTP_2);
    cases[n].q.scheme = S("https");
    cases[n].authority = S(authorities[i]);
    cases[n].q.authorities = &cases[n].authority;
    cases[n].q.authorities_len = 1;
  }
  cases[n].q = request(MISDIRECT_HTTP_1_1);
  cases[n].hosts[0] = S("a.example.test:8443");
  cases[n].hosts[1] = S("a.example.test:8443");
  cases[n].q.hosts = cases[n].hosts;
  cases[n].q.hosts_len = 2;
  n++;
  for (i = 0; i < n; i++) {
    cases[i].expected = decide(server, conn, &cases[i].q);
    check_shape(&cases[i].expected);
  }
  CHECK(cases[0].expected.d.verdict == MISDIRECT_VERDICT_SERVE);
  CHECK(cases[1].expected.d.rule == 6);

  main_work.server = server;
  main_work.connection = conn;
  main_work.cases = cases;
  main_work.count = n;
  main_work.decisions = 0;
  main_work.mismatches = 0;
  other_work = main_work;
  started = pthread_create(&thread, NULL, decide_many, &other_work) == 0;
  CHECK(started);
  decide_many(&main_work);
  if (started) {
    CHECK(pthread_join(thread, NULL) == 0);
  }
  CHECK(main_work.mismatches == 0);
  CHECK(other_work.mismatches == 0);
  CHECK(main_work.decisions == (unsigned long)THREAD_ROUNDS * n);
  CHECK(other_work.decisions == (unsigned long)(started ? THREAD_ROUNDS * n : 0));
  misdirect_connection_free(conn);
}

int main(int argc, char **argv) {
  unsigned char *wild_der, *other_der;
  size_t wild_len, other_len;
  misdirect_server *server, *bare;

  if (argc != 3) {
    fprintf(stderr, "usage: %s WILD.der OTHER.der\n", argv[0]);
    return 2;
  }
  wild_der = read_file(argv[1], &wild_len);
  other_der = read_file(argv[2], &other_len);

  test_abi_version_and_result_text();
  test_from_toml();
  test_from_file(wild_der, wild_len);
  server = build(CONFIG);
  bare = build(BARE_CONFIG);
  test_server_queries(server, bare, wild_der, wild_len, other_der, other_len);
  test_connection_new(server);
  test_decide(server, bare);
  test_threads(server);
  misdirect_server_free(server);
  misdirect_server_free(bare);
  free(wild_der);
  free(other_der);

  if (failures != 0) {
    fprintf(stderr, "%u of %u checks failed\n", failures, checks);
    return 1;
  }
  printf("%u checks passed\n", checks);
  return 0;
}
