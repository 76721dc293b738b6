/*
 * ngx_http_misdirect_module: misdirect's decision in nginx, over misdirect's C ABI
 * (ffi/include/misdirect.h). Every request (HTTP/1.x and HTTP/2) is decided before any
 * content handler runs, from nginx's own facts: the listening port, the SNI the handshake
 * carried, the certificate the handshake presented, the server block whose TLS settings the
 * handshake was made under, and the request's Host and :authority. A refusal is answered
 * with 421, 400 or 404 and its reason line is logged; what the crate serves, nginx serves.
 *
 *   load_module modules/ngx_http_misdirect_module.so;
 *   http { misdirect_config /etc/nginx/misdirect.toml; ... }
 *
 * The facts of nginx's source (1.22.1) this module relies on are in docs/nginx.md, each with
 * its file and function.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <dlfcn.h>

#include "misdirect.h"

#define MISDIRECT_REASON_CAP 512

/* The label that stands for any under a wildcard server_name, to ask the crate about it. */
#define MISDIRECT_LABEL "misdirect-any."

typedef struct {
    ngx_str_t            file;
    misdirect_server    *server;
    ngx_array_t          contexts;      /* misdirect_tls_t: one per server block with TLS */
    ngx_array_t          blocks;        /* misdirect_block_t: one per server block */
} ngx_http_misdirect_main_conf_t;

/* What a handshake made under one server block's TLS context is, in the crate's names. */
typedef struct {
    SSL_CTX             *ctx;
    X509                *x509;
    misdirect_str        certificate;
    misdirect_str        policy;        /* data NULL: none of the crate's policies */
} misdirect_tls_t;

/* The virtual hosts the crate gives a server block's names: a served request must be one. */
typedef struct {
    ngx_http_core_srv_conf_t  *cscf;
    ngx_array_t                vhosts;  /* misdirect_str */
    ngx_uint_t                 any;     /* a regex server_name: nginx's choice is kept */
} misdirect_block_t;

/* Per connection (in a cleanup of the connection's pool): the facts, checked once. */
typedef struct {
    misdirect_connection      *connection;
    misdirect_result           result;
} misdirect_conn_t;

/* Per request: every Host and :authority value as it came, and the decision. */
#define MISDIRECT_FIELDS MISDIRECT_MAX_FIELDS
typedef struct {
    misdirect_str        authorities[MISDIRECT_FIELDS];
    ngx_uint_t           nauthorities;
    misdirect_str        hosts[MISDIRECT_FIELDS];
    ngx_uint_t           nhosts;
    unsigned             decided:1;
    unsigned             replace:1;
    unsigned             replaced:1;
    ngx_uint_t           status;
} ngx_http_misdirect_ctx_t;


static void *ngx_http_misdirect_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_misdirect_config(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_misdirect_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_misdirect_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_misdirect_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_misdirect_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_misdirect_host(ngx_http_request_t *r,
    ngx_table_elt_t *h, ngx_uint_t offset);


static ngx_command_t  ngx_http_misdirect_commands[] = {

    { ngx_string("misdirect_config"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_misdirect_config,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_misdirect_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_misdirect_init,               /* postconfiguration */
    ngx_http_misdirect_create_main_conf,   /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_misdirect_module = {
    NGX_MODULE_V1,
    &ngx_http_misdirect_module_ctx,        /* module context */
    ngx_http_misdirect_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

/*
 * nginx's Host handler (ngx_http_process_host), which this module wraps: the handler entry
 * is nginx's static ngx_http_headers_in[] "host" entry, shared by every cycle, so it is
 * patched once and the wrapper checks that the running cycle is one this module configured.
 */
static ngx_http_header_handler_pt  ngx_http_misdirect_original_host;


static misdirect_str
ngx_http_misdirect_str(ngx_str_t *s)
{
    misdirect_str  m;

    m.data = s->data;
    m.len = s->len;
    return m;
}


static void *
ngx_http_misdirect_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_misdirect_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_misdirect_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    return mcf;
}


static void
ngx_http_misdirect_free_server(void *data)
{
    misdirect_server_free(data);
}


static char *
ngx_http_misdirect_config(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_misdirect_main_conf_t *mcf = conf;

    u_char               error[1024];
    size_t               error_len;
    ngx_str_t           *value;
    misdirect_result     rc;
    ngx_pool_cleanup_t  *cln;

    if (mcf->server != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    mcf->file = value[1];

    if (ngx_conf_full_name(cf->cycle, &mcf->file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (misdirect_abi_version() != MISDIRECT_ABI_VERSION) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "misdirect: the library's ABI is version %uD, this module "
                           "was built for %d", misdirect_abi_version(),
                           MISDIRECT_ABI_VERSION);
        return NGX_CONF_ERROR;
    }

    rc = misdirect_server_from_file(ngx_http_misdirect_str(&mcf->file),
                                    &mcf->server, error, sizeof(error),
                                    &error_len);
    if (rc != MISDIRECT_RESULT_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "misdirect: %s: %s",
                           misdirect_result_text(rc), error);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        misdirect_server_free(mcf->server);
        mcf->server = NULL;
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_misdirect_free_server;
    cln->data = mcf->server;

    return NGX_CONF_OK;
}


/*
 * Keeps this shared object loaded for the life of the process: nginx's static Host handler
 * entry points into it once patched, and a reload whose configuration no longer loads the
 * module would otherwise leave that pointer dangling.
 */
static ngx_int_t
ngx_http_misdirect_pin(ngx_conf_t *cf)
{
    Dl_info   info;
    void     *self;

    if (dladdr((void *) ngx_http_misdirect_host, &info) == 0
        || info.dli_fname == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "misdirect: dladdr() found no path for the module");
        return NGX_ERROR;
    }

    self = dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE);
    if (self == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "misdirect: dlopen(\"%s\"): %s",
                           info.dli_fname, dlerror());
        return NGX_ERROR;
    }

    return NGX_OK;
}


static const char *
ngx_http_misdirect_auth_name(ngx_uint_t auth)
{
    switch (auth) {
    case MISDIRECT_CLIENT_AUTH_NONE:
        return "\"none\" (ssl_verify_client off)";
    case MISDIRECT_CLIENT_AUTH_OPTIONAL:
        return "\"optional\" (ssl_verify_client optional)";
    case MISDIRECT_CLIENT_AUTH_REQUIRED:
        return "\"required\" (ssl_verify_client on)";
    default:
        return "nothing: the policy has no [[policies]] table";
    }
}


/*
 * Checks that a server block's TLS settings are what the crate's policy declares: a policy
 * is what its handshakes do, not only a name.
 */
static ngx_int_t
ngx_http_misdirect_check_policy(ngx_conf_t *cf,
    ngx_http_misdirect_main_conf_t *mcf, ngx_http_core_srv_conf_t *cscf,
    ngx_http_ssl_srv_conf_t *sscf, misdirect_str policy)
{
    ngx_uint_t        auth, versions;
    misdirect_policy  declared;

    if (misdirect_server_policy(mcf->server, policy, &declared)
        != MISDIRECT_RESULT_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "misdirect: server block \"%V\": no policy \"%*s\"",
                           &cscf->server_name, policy.len, policy.data);
        return NGX_ERROR;
    }

    switch (sscf->verify) {
    case 0:
        auth = MISDIRECT_CLIENT_AUTH_NONE;
        break;
    case 1:
        auth = MISDIRECT_CLIENT_AUTH_REQUIRED;
        break;
    case 2:
        auth = MISDIRECT_CLIENT_AUTH_OPTIONAL;
        break;
    default:
        /* optional_no_ca: a certificate is asked for and never verified */
        auth = (ngx_uint_t) -1;
        break;
    }

    if (declared.client_auth != auth) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "misdirect: server block \"%V\" (%s:%ui) makes handshakes "
                           "under TLS policy \"%*s\", which %s %s, but its "
                           "ssl_verify_client is %s",
                           &cscf->server_name, cscf->file_name, cscf->line, policy.len, policy.data,
                           declared.client_auth == MISDIRECT_CLIENT_AUTH_UNDECLARED
                               ? "declares" : "demands client_auth",
                           ngx_http_misdirect_auth_name(declared.client_auth),
                           sscf->verify == 0 ? "off"
                               : sscf->verify == 1 ? "on"
                               : sscf->verify == 2 ? "optional" : "optional_no_ca");
        return NGX_ERROR;
    }

    versions = 0;
    if (sscf->protocols & NGX_SSL_TLSv1_2) {
        versions |= MISDIRECT_TLS_1_2;
    }
    if (sscf->protocols & NGX_SSL_TLSv1_3) {
        versions |= MISDIRECT_TLS_1_3;
    }

    if (versions != declared.versions
        || (sscf->protocols & (NGX_SSL_SSLv2|NGX_SSL_SSLv3|NGX_SSL_TLSv1
                               |NGX_SSL_TLSv1_1)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "misdirect: server block \"%V\" (%s:%ui) makes handshakes "
                           "under TLS policy \"%*s\", which offers %s, but its "
                           "ssl_protocols differ",
                           &cscf->server_name, cscf->file_name, cscf->line, policy.len, policy.data,
                           declared.versions == (MISDIRECT_TLS_1_2|MISDIRECT_TLS_1_3)
                               ? "TLSv1.2 TLSv1.3"
                               : declared.versions == MISDIRECT_TLS_1_3 ? "TLSv1.3"
                               : "TLSv1.2");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* The name of the crate's certificate with this certificate's SANs (its DER, in `pool`). */
static misdirect_result
ngx_http_misdirect_certificate_name(misdirect_server *server, ngx_pool_t *pool, X509 *x509,
    misdirect_str *name)
{
    int             len;
    u_char         *p;
    misdirect_str   der;

    len = i2d_X509(x509, NULL);
    p = len > 0 ? ngx_pnalloc(pool, len) : NULL;
    if (p == NULL) {
        return MISDIRECT_RESULT_BAD_CERTIFICATE;
    }
    der.data = p;
    der.len = (size_t) len;
    i2d_X509(x509, &p);

    return misdirect_server_certificate_for_der(server, der, name);
}


/* Records a server block's TLS context: its certificate and policy in the crate's names. */
static ngx_int_t
ngx_http_misdirect_add_block(ngx_conf_t *cf, ngx_http_misdirect_main_conf_t *mcf,
    ngx_http_core_srv_conf_t *cscf, in_port_t port, ngx_uint_t ssl,
    ngx_uint_t is_default)
{
    ngx_str_t                 block;
    ngx_array_t               snis;
    ngx_uint_t                i, j, found;
    misdirect_str             listener, vhost, policy, certificate, *v;
    misdirect_tls_t          *tls;
    misdirect_block_t        *b;
    misdirect_result          rc;
    ngx_http_ssl_srv_conf_t  *sscf;
    ngx_http_server_name_t   *sn;

    sn = cscf->server_names.elts;
    block = cscf->server_name;

    b = NULL;
    for (i = 0; i < mcf->blocks.nelts; i++) {
        if (((misdirect_block_t *) mcf->blocks.elts)[i].cscf == cscf) {
            b = &((misdirect_block_t *) mcf->blocks.elts)[i];
        }
    }

    if (b == NULL) {
        b = ngx_array_push(&mcf->blocks);
        if (b == NULL) {
            return NGX_ERROR;
        }
        b->cscf = cscf;
        b->any = 0;
        if (ngx_array_init(&b->vhosts, cf->pool, 2, sizeof(misdirect_str))
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    rc = misdirect_server_listener_for(mcf->server, ssl ? 1 : 0, port, &listener);
    if (rc != MISDIRECT_RESULT_OK) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "misdirect: no %s listener on port %d in \"%V\": "
                           "every request to server block \"%V\" on it is refused",
                           ssl ? "TLS" : "cleartext", (int) port, &mcf->file, &block);
        return NGX_OK;
    }

    /* The policy and virtual host the crate gives a handshake with each of the block's
     * names (and with none, for the default server): all must be one policy. */
    policy.data = NULL;
    policy.len = 0;

    /* The SNIs the block's names stand for: each exact name; for "*.x" a name under x;
     * for ".x" both x and a name under it; none for the default server. A regex or a
     * "www.x.*" name cannot be enumerated: nginx's choice of such a block is kept. */
    if (ngx_array_init(&snis, cf->temp_pool, 4, sizeof(misdirect_str)) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 0; i < cscf->server_names.nelts; i++) {
        ngx_str_t  *name = &sn[i].name;

#if (NGX_PCRE)
        if (sn[i].regex) {
            b->any = 1;
            continue;
        }
#endif
        if (name->len == 0) {
            continue;
        }

        if (name->data[name->len - 1] == '*') {
            b->any = 1;
            continue;
        }

        if ((name->data[0] == '*' && name->len > 2 && name->data[1] == '.')
            || (name->data[0] == '.' && name->len > 1))
        {
            size_t   skip = (name->data[0] == '*') ? 2 : 1;
            u_char  *under;

            under = ngx_pnalloc(cf->temp_pool, sizeof(MISDIRECT_LABEL) - 1 + name->len);
            if (under == NULL || (v = ngx_array_push(&snis)) == NULL) {
                return NGX_ERROR;
            }
            ngx_memcpy(under, MISDIRECT_LABEL, sizeof(MISDIRECT_LABEL) - 1);
            ngx_memcpy(under + sizeof(MISDIRECT_LABEL) - 1, name->data + skip,
                       name->len - skip);
            v->data = under;
            v->len = sizeof(MISDIRECT_LABEL) - 1 + name->len - skip;

            if (name->data[0] == '.') {
                if ((v = ngx_array_push(&snis)) == NULL) {
                    return NGX_ERROR;
                }
                v->data = name->data + 1;
                v->len = name->len - 1;
            }
            continue;
        }

        if ((v = ngx_array_push(&snis)) == NULL) {
            return NGX_ERROR;
        }
        *v = ngx_http_misdirect_str(name);
    }

    if (is_default) {
        if ((v = ngx_array_push(&snis)) == NULL) {
            return NGX_ERROR;
        }
        v->data = NULL;
        v->len = 0;
    }

    for (i = 0; i < snis.nelts; i++) {
        misdirect_str  sni, p1;

        sni = ((misdirect_str *) snis.elts)[i];

        /* the virtual host the name is (no default: a block credited with the
         * listener's default would serve any name nginx routes to it) */
        if (sni.data != NULL
            && misdirect_server_vhost_for_name(mcf->server, listener, sni, &vhost)
               == MISDIRECT_RESULT_OK)
        {
            found = 0;
            v = b->vhosts.elts;
            for (j = 0; j < b->vhosts.nelts; j++) {
                if (v[j].len == vhost.len
                    && ngx_memcmp(v[j].data, vhost.data, vhost.len) == 0)
                {
                    found = 1;
                }
            }
            if (!found) {
                v = ngx_array_push(&b->vhosts);
                if (v == NULL) {
                    return NGX_ERROR;
                }
                *v = vhost;
            }
        }

        if (!ssl) {
            continue;
        }

        /* the policy a handshake with the name (or none) gets: with the defaults, as the
         * crate's TLS layer applies them */
        rc = misdirect_server_sni(mcf->server, listener, sni, NULL, &p1);
        if (rc != MISDIRECT_RESULT_OK) {
            continue;
        }

        if (policy.data != NULL
            && (policy.len != p1.len || ngx_memcmp(policy.data, p1.data, p1.len) != 0))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "misdirect: server block \"%V\" makes handshakes for "
                               "names whose virtual hosts have TLS policies \"%*s\" "
                               "and \"%*s\": give each policy its own server block",
                               &block, policy.len, policy.data, p1.len, p1.data);
            return NGX_ERROR;
        }
        policy = p1;
    }

    if (!ssl) {
        return NGX_OK;
    }

    sscf = cscf->ctx->srv_conf[ngx_http_ssl_module.ctx_index];
    if (sscf == NULL) {
        return NGX_OK;
    }

    /* Also for a block without a TLS context of its own (no ssl_certificate): nginx checks
     * client certificates per request against the block it routes to, with its settings. */
    if (policy.data != NULL
        && ngx_http_misdirect_check_policy(cf, mcf, cscf, sscf, policy) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (sscf->ssl.ctx == NULL) {
        return NGX_OK;
    }

    tls = mcf->contexts.elts;
    for (i = 0; i < mcf->contexts.nelts; i++) {
        if (tls[i].ctx == sscf->ssl.ctx) {
            return NGX_OK;
        }
    }

    tls = ngx_array_push(&mcf->contexts);
    if (tls == NULL) {
        return NGX_ERROR;
    }

    tls->ctx = sscf->ssl.ctx;
    tls->policy = policy;
    tls->x509 = SSL_CTX_get0_certificate(sscf->ssl.ctx);
    tls->certificate.data = NULL;
    tls->certificate.len = 0;

    if (tls->x509 == NULL) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "misdirect: server block \"%V\" has no certificate: "
                           "its handshakes are refused every request", &block);
        return NGX_OK;
    }

    rc = ngx_http_misdirect_certificate_name(mcf->server, cf->temp_pool, tls->x509,
                                             &certificate);
    if (rc != MISDIRECT_RESULT_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "misdirect: server block \"%V\" (%s:%ui) presents a "
                           "certificate none of whose SAN lists in \"%V\" is its own: %s",
                           &block, cscf->file_name, cscf->line, &mcf->file,
                           misdirect_result_text(rc));
        return NGX_ERROR;
    }

    tls->certificate = certificate;

    return NGX_OK;
}


static ngx_int_t
ngx_http_misdirect_init(ngx_conf_t *cf)
{
    ngx_uint_t                       p, a, s;
    ngx_http_handler_pt             *h;
    ngx_http_header_t               *hh;
    ngx_http_conf_port_t            *port;
    ngx_http_conf_addr_t            *addr;
    ngx_http_core_srv_conf_t       **cscfp;
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_misdirect_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_misdirect_module);
    if (mcf->server == NULL) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    if (ngx_array_init(&mcf->contexts, cf->pool, 8, sizeof(misdirect_tls_t))
        != NGX_OK
        || ngx_array_init(&mcf->blocks, cf->pool, 8, sizeof(misdirect_block_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (cmcf->ports) {
        port = cmcf->ports->elts;
        for (p = 0; p < cmcf->ports->nelts; p++) {
            addr = port[p].addrs.elts;
            for (a = 0; a < port[p].addrs.nelts; a++) {
                cscfp = addr[a].servers.elts;
                for (s = 0; s < addr[a].servers.nelts; s++) {
                    if (ngx_http_misdirect_add_block(cf, mcf, cscfp[s],
                                                     port[p].port,
                                                     addr[a].opt.ssl,
                                                     cscfp[s] == addr[a].default_server)
                        != NGX_OK)
                    {
                        return NGX_ERROR;
                    }
                }
            }
        }
    }

    /* The first phase: before rewrites, access checks and content handlers. */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = ngx_http_misdirect_handler;

    /* where an internal redirect restarts */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_SERVER_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = ngx_http_misdirect_handler;

    /* where a named location (error_page ... @name, try_files ... @name) restarts */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = ngx_http_misdirect_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_misdirect_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_misdirect_body_filter;

    /* Every Host line and :authority, as they came, for the decision; nginx's own handler
     * still validates and routes the first. */
    hh = ngx_hash_find(&cmcf->headers_in_hash, ngx_hash_key((u_char *) "host", 4),
                       (u_char *) "host", 4);
    if (hh == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "misdirect: nginx has no handler for the Host header");
        return NGX_ERROR;
    }

    if (hh->handler != ngx_http_misdirect_host) {
        if (ngx_http_misdirect_pin(cf) != NGX_OK) {
            return NGX_ERROR;
        }
        ngx_http_misdirect_original_host = hh->handler;
        hh->handler = ngx_http_misdirect_host;
    }

    return NGX_OK;
}


/*
 * Whether the running cycle loads this module and gives it a configuration. Asked of the
 * process's own ngx_cycle (a worker's never changes), not remembered from a configuration
 * pass: a reload that fails after this module's postconfiguration leaves the workers on the
 * previous cycle.
 */
static ngx_uint_t
ngx_http_misdirect_enabled(void)
{
    static volatile ngx_cycle_t     *seen;
    static ngx_uint_t                enabled;
    ngx_uint_t                       i;
    ngx_http_misdirect_main_conf_t  *mcf;

    if (seen != ngx_cycle) {
        enabled = 0;
        for (i = 0; ngx_cycle->modules && ngx_cycle->modules[i]; i++) {
            if (ngx_cycle->modules[i] == &ngx_http_misdirect_module) {
                mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                          ngx_http_misdirect_module);
                enabled = mcf != NULL && mcf->server != NULL;
                break;
            }
        }
        seen = ngx_cycle;
    }

    return enabled;
}


static void
ngx_http_misdirect_ctx_marker(void *data)
{
    /* marks the request pool's cleanup that holds the module's context */
}


/*
 * The request's context. It is kept in a cleanup of the request's pool, not only in r->ctx:
 * an internal redirect (error_page, try_files, rewrite ... last) clears r->ctx, and the
 * recorded Host and :authority values and the decision must survive it.
 */
static ngx_http_misdirect_ctx_t *
ngx_http_misdirect_find_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_misdirect_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_misdirect_module);
    if (ctx != NULL) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_misdirect_ctx_marker) {
            ngx_http_set_ctx(r, cln->data, ngx_http_misdirect_module);
            return cln->data;
        }
    }

    return NULL;
}


static ngx_http_misdirect_ctx_t *
ngx_http_misdirect_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_misdirect_ctx_t  *ctx;

    ctx = ngx_http_misdirect_find_ctx(r);
    if (ctx != NULL) {
        return ctx;
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_misdirect_ctx_t));
    if (cln == NULL) {
        return NULL;
    }
    ngx_memzero(cln->data, sizeof(ngx_http_misdirect_ctx_t));
    cln->handler = ngx_http_misdirect_ctx_marker;
    ngx_http_set_ctx(r, cln->data, ngx_http_misdirect_module);

    return cln->data;
}


/*
 * The Host handler: records the value (and whether HTTP/2 sent it as :authority, which
 * nginx 1.22 hands to this handler as a "host" header), then lets nginx's own handler
 * validate and route the first one. A second value is not nginx's "duplicate host" 400:
 * the decision judges it (two Host lines are a 400 there too; an HTTP/2 host that agrees
 * with :authority is served, as RFC 9113 §8.3.1 allows).
 */
static ngx_int_t
ngx_http_misdirect_host(ngx_http_request_t *r, ngx_table_elt_t *h,
    ngx_uint_t offset)
{
    ngx_uint_t                 authority;
    ngx_http_misdirect_ctx_t  *ctx;

    if (!ngx_http_misdirect_enabled()) {
        return ngx_http_misdirect_original_host(r, h, offset);
    }

    ctx = ngx_http_misdirect_get_ctx(r);
    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return NGX_ERROR;
    }

    authority = 0;
#if (NGX_HTTP_V2)
    if (r->stream && r->stream->connection->state.stream == r->stream) {
        /* the field being parsed for this very stream (not a pushed request's, made
         * outside the parser); ngx_http_v2_pseudo_header has stripped the colon */
        ngx_str_t  *name = &r->stream->connection->state.header.name;

        authority = (name->len == 9 && ngx_memcmp(name->data, "authority", 9) == 0)
                    || (name->len == 10 && ngx_memcmp(name->data, ":authority", 10) == 0);
    }
#endif

    if (authority) {
        if (ctx->nauthorities < MISDIRECT_FIELDS) {
            ctx->authorities[ctx->nauthorities] = ngx_http_misdirect_str(&h->value);
        }
        ctx->nauthorities++;

    } else {
        if (ctx->nhosts < MISDIRECT_FIELDS) {
            ctx->hosts[ctx->nhosts] = ngx_http_misdirect_str(&h->value);
        }
        ctx->nhosts++;
    }

    if (r->headers_in.host) {
        /* not the first: kept for the decision, not routed */
        return NGX_OK;
    }

    return ngx_http_misdirect_original_host(r, h, offset);
}


/* The client's connection: an HTTP/2 stream's request has a connection of its own. */
static ngx_connection_t *
ngx_http_misdirect_client(ngx_http_request_t *r)
{
#if (NGX_HTTP_V2)
    if (r->stream) {
        return r->stream->connection->connection;
    }
#endif
    return r->connection;
}


static void
ngx_http_misdirect_free_connection(void *data)
{
    misdirect_conn_t  *mc = data;

    misdirect_connection_free(mc->connection);
}


#if (NGX_HTTP_SSL)
/*
 * A session resumed with another SNI than the handshake that made it: the facts are that
 * handshake's (SPEC "Resumption", CVE-2025-23048), the certificate and policy of the server
 * block its SNI selected, not those of the block the new SNI switched the context to (OpenSSL
 * keeps no server certificate in the session). The block is found through the crate: the
 * virtual host the original SNI selects on this listener, and a TLS block credited with it.
 * Facts: OpenSSL's final_server_name stores the SNI in the session only on a full handshake
 * (`!s->hit`), so SSL_SESSION_get0_hostname is the SNI the session was made with; under TLS
 * 1.3 SSL_get_servername is this ClientHello's, and OpenSSL resumes a TLS 1.3 session under
 * another SNI (ssl/statem/extensions.c, extensions_srvr.c, OpenSSL 3.0).
 */
static misdirect_result
ngx_http_misdirect_resumed(ngx_http_misdirect_main_conf_t *mcf, misdirect_str listener,
    const char *original, misdirect_facts *facts)
{
    ngx_uint_t                i, j, k;
    misdirect_str             name, vhost, *v;
    misdirect_tls_t          *t;
    misdirect_block_t        *b;
    misdirect_result          rc;
    ngx_http_ssl_srv_conf_t  *sscf;

    name.data = (const uint8_t *) original;
    name.len = original != NULL ? ngx_strlen(original) : 0;

    rc = misdirect_server_sni(mcf->server, listener, name, &vhost, NULL);
    if (rc != MISDIRECT_RESULT_OK) {
        return MISDIRECT_RESULT_UNKNOWN_CERTIFICATE;
    }

    b = mcf->blocks.elts;
    for (i = 0; i < mcf->blocks.nelts; i++) {
        v = b[i].vhosts.elts;
        for (j = 0; j < b[i].vhosts.nelts; j++) {
            if (v[j].len != vhost.len || ngx_memcmp(v[j].data, vhost.data, vhost.len) != 0) {
                continue;
            }

            sscf = b[i].cscf->ctx->srv_conf[ngx_http_ssl_module.ctx_index];
            if (sscf == NULL || sscf->ssl.ctx == NULL) {
                continue;
            }

            t = mcf->contexts.elts;
            for (k = 0; k < mcf->contexts.nelts; k++) {
                if (t[k].ctx == sscf->ssl.ctx && t[k].certificate.data != NULL) {
                    facts->certificate = t[k].certificate;
                    facts->policy = t[k].policy;
                    return MISDIRECT_RESULT_OK;
                }
            }
        }
    }

    /* No block of the original SNI's virtual host made handshakes: unknown, refused. */
    return MISDIRECT_RESULT_UNKNOWN_CERTIFICATE;
}
#endif


/* The connection's facts, checked once per connection and kept in its pool. */
static misdirect_conn_t *
ngx_http_misdirect_connection(ngx_http_request_t *r,
    ngx_http_misdirect_main_conf_t *mcf)
{
    int                   tls;
    X509                 *x509;
    ngx_uint_t            i;
    in_port_t             port;
    misdirect_str         listener;
    misdirect_tls_t      *t, *found;
    misdirect_facts       facts;
    misdirect_conn_t     *mc;
    ngx_connection_t     *c;
    ngx_pool_cleanup_t   *cln;

    c = ngx_http_misdirect_client(r);

    for (cln = c->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_misdirect_free_connection) {
            return cln->data;
        }
    }

    cln = ngx_pool_cleanup_add(c->pool, sizeof(misdirect_conn_t));
    if (cln == NULL) {
        return NULL;
    }
    mc = cln->data;
    mc->connection = NULL;
    cln->handler = ngx_http_misdirect_free_connection;

    ngx_memzero(&facts, sizeof(facts));

    tls = c->ssl != NULL;
    port = ngx_inet_get_port(c->listening->sockaddr);

    mc->result = misdirect_server_listener_for(mcf->server, tls, port, &listener);
    if (mc->result != MISDIRECT_RESULT_OK) {
        return mc;
    }

    facts.listener = listener;
    facts.tls = tls;

#if (NGX_HTTP_SSL)
    if (tls) {
        const char  *sni;
        SSL_CTX     *ctx;

        sni = SSL_get_servername(c->ssl->connection, TLSEXT_NAMETYPE_host_name);
        if (sni != NULL) {
            facts.sni.data = (const uint8_t *) sni;
            facts.sni.len = ngx_strlen(sni);
        }

        /* nginx's SNI callback (ngx_http_ssl_servername) switched the handshake to the
         * selected server block's context: that block's TLS settings made it. */
        ctx = SSL_get_SSL_CTX(c->ssl->connection);
        x509 = SSL_get_certificate(c->ssl->connection);

        found = NULL;
        t = mcf->contexts.elts;
        for (i = 0; i < mcf->contexts.nelts; i++) {
            if (t[i].ctx == ctx) {
                found = &t[i];
                break;
            }
        }

        if (found == NULL) {
            mc->result = MISDIRECT_RESULT_UNKNOWN_POLICY;
            return mc;
        }

        facts.policy = found->policy;
        facts.certificate = found->certificate;

        /*
         * nginx's ssl_verify_client on does not fail a handshake without a certificate
         * (SSL_VERIFY_PEER without FAIL_IF_NO_PEER_CERT): nginx refuses, per request, the
         * requests routed to a block that verifies (ngx_http_process_request). That is why
         * ngx_http_misdirect_check_policy holds every block whose names have a policy to that
         * policy's client_auth, blocks without a TLS context of their own included.
         */

        if (x509 != NULL && x509 != found->x509) {
            /* another certificate of the block (RSA beside ECDSA): find it by its SANs */
            mc->result = ngx_http_misdirect_certificate_name(mcf->server, c->pool, x509,
                                                             &facts.certificate);
            if (mc->result != MISDIRECT_RESULT_OK) {
                return mc;
            }
        }

        if (facts.certificate.data == NULL) {
            mc->result = MISDIRECT_RESULT_UNKNOWN_CERTIFICATE;
            return mc;
        }

        if (SSL_session_reused(c->ssl->connection)) {
            SSL_SESSION  *session;
            const char   *original;

            session = SSL_get0_session(c->ssl->connection);
            original = session != NULL ? SSL_SESSION_get0_hostname(session) : NULL;

            if ((original == NULL) != (sni == NULL)
                || (original != NULL && ngx_strcasecmp((u_char *) original, (u_char *) sni) != 0))
            {
                mc->result = ngx_http_misdirect_resumed(mcf, listener, original, &facts);
                if (mc->result != MISDIRECT_RESULT_OK) {
                    return mc;
                }
            }
        }
    }
#endif

    mc->result = misdirect_connection_new(mcf->server, &facts, &mc->connection);

    return mc;
}


/*
 * The end of an absolute-form target's authority: the host, then ':' and the port's digits.
 * Not r->port_end, which ngx_http_alloc_large_header_buffer does not move with the request
 * line (it moves port_end only with port_start, which the 1.22 parser never sets).
 */
static u_char *
ngx_http_misdirect_authority_end(ngx_http_request_t *r)
{
    u_char  *p, *last;

    p = r->host_end;
    last = r->request_line.data + r->request_line.len;

    if (p < last && *p == ':') {
        for (p++; p < last && *p >= '0' && *p <= '9'; p++) {
            /* the port */
        }
    }

    return p;
}


/* Decides the request; returns the status to answer with, or 0 to serve. */
static ngx_uint_t
ngx_http_misdirect_decide(ngx_http_request_t *r, ngx_http_misdirect_ctx_t *ctx)
{
    u_char                           reason[MISDIRECT_REASON_CAP];
    ngx_uint_t                       i, j;
    misdirect_str                   *v;
    misdirect_conn_t                *mc;
    misdirect_result                 rc;
    misdirect_request                req;
    misdirect_decision               d;
    misdirect_block_t               *b;
    ngx_http_core_srv_conf_t        *cscf;
    ngx_http_misdirect_main_conf_t  *mcf;

    ctx->decided = 1;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_misdirect_module);

    mc = ngx_http_misdirect_connection(r, mcf);
    if (mc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (mc->result != MISDIRECT_RESULT_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "misdirect: 421: this connection's facts are not the "
                      "configuration's: %s", misdirect_result_text(mc->result));
        return NGX_HTTP_MISDIRECTED_REQUEST;
    }

    ngx_memzero(&req, sizeof(req));

    switch (r->http_version) {
    case NGX_HTTP_VERSION_20:
        req.version = MISDIRECT_HTTP_2;
        break;
    case NGX_HTTP_VERSION_11:
        req.version = MISDIRECT_HTTP_1_1;
        break;
    default:
        req.version = MISDIRECT_HTTP_1_0;
        break;
    }

    req.method = (r->method == NGX_HTTP_CONNECT) ? MISDIRECT_METHOD_CONNECT
                                                 : MISDIRECT_METHOD_OTHER;

    if (r->http_version == NGX_HTTP_VERSION_20) {
        if (r->schema.len) {
            req.scheme = ngx_http_misdirect_str(&r->schema);
        }
        req.target = MISDIRECT_TARGET_ORIGIN;

    } else if (r->host_start && r->host_end) {
        req.target = MISDIRECT_TARGET_ABSOLUTE;
        req.target_scheme.data = r->schema_start;
        req.target_scheme.len = r->schema_end - r->schema_start;
        req.target_authority.data = r->host_start;
        req.target_authority.len = ngx_http_misdirect_authority_end(r) - r->host_start;

    } else {
        req.target = MISDIRECT_TARGET_ORIGIN;
    }

    req.authorities = ctx->authorities;
    req.authorities_len = ngx_min(ctx->nauthorities, MISDIRECT_FIELDS);
    req.hosts = ctx->hosts;
    req.hosts_len = ngx_min(ctx->nhosts, MISDIRECT_FIELDS);

    rc = misdirect_decide(mcf->server, mc->connection, &req, &d, reason,
                          sizeof(reason));
    if (rc != MISDIRECT_RESULT_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "misdirect: the decision failed: %s", misdirect_result_text(rc));
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (d.verdict) {

    case MISDIRECT_VERDICT_SERVE:
        /* nginx routed the request by its server_name: it must be a block whose names
         * the crate gives the virtual host it serves */
        cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
        b = mcf->blocks.elts;
        for (i = 0; i < mcf->blocks.nelts; i++) {
            if (b[i].cscf != cscf) {
                continue;
            }
            if (b[i].any) {
                return 0;
            }
            v = b[i].vhosts.elts;
            for (j = 0; j < b[i].vhosts.nelts; j++) {
                if (v[j].len == d.vhost.len
                    && ngx_memcmp(v[j].data, d.vhost.data, d.vhost.len) == 0)
                {
                    return 0;
                }
            }
        }
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "misdirect: 421: the crate serves virtual host \"%*s\", "
                      "but nginx routed the request to server block \"%V\"",
                      d.vhost.len, d.vhost.data, &cscf->server_name);
        return NGX_HTTP_MISDIRECTED_REQUEST;

    case MISDIRECT_VERDICT_NOT_ORIGIN:
        return 0;

    default:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "misdirect: %s", reason);
        return d.status;
    }
}


/*
 * Runs in the first phase and again in the server-rewrite and rewrite phases, where an
 * internal redirect and a named location restart: a refused request stays refused whatever error_page or rewrite sends it to, and
 * a request nginx refused itself before any phase, then sent to an error_page, is decided
 * there. A refusal is nginx's own page for its status, with error_page off for it: an
 * error_page would serve the refused request some location's content.
 */
static ngx_int_t
ngx_http_misdirect_handler(ngx_http_request_t *r)
{
    ngx_http_misdirect_ctx_t  *ctx;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_misdirect_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ctx->decided) {
        ctx->status = ngx_http_misdirect_decide(r, ctx);
    }

    if (ctx->status == 0) {
        return NGX_DECLINED;
    }

    r->error_page = 1;

    return (ngx_int_t) ctx->status;
}


#if (NGX_HTTP_SSL)
/* Whether nginx's 400 is its client-certificate check (ngx_http_process_request): the
 * request's server block verifies and the handshake brought no verified certificate. */
static ngx_uint_t
ngx_http_misdirect_certificate_refusal(ngx_http_request_t *r)
{
    X509                     *cert;
    ngx_connection_t         *c;
    ngx_http_ssl_srv_conf_t  *sscf;

    c = ngx_http_misdirect_client(r);

    if (c->ssl == NULL) {
        return 0;
    }

    sscf = ngx_http_get_module_srv_conf(r, ngx_http_ssl_module);
    if (sscf == NULL || sscf->verify == 0) {
        return 0;
    }

    if (SSL_get_verify_result(c->ssl->connection) != X509_V_OK) {
        return 1;
    }

    cert = SSL_get_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        return sscf->verify == 1;
    }
    X509_free(cert);

    return 0;
}
#endif


/*
 * nginx refuses a few requests itself before any phase runs: its 421 when Host names a
 * block that verifies client certificates and the SNI named another
 * (ngx_http_set_virtual_server), and its 400 for a missing required client certificate
 * (ngx_http_process_request). Where the crate refuses such a request with the other
 * status, the crate's status is sent, with its own short page.
 */
static ngx_int_t
ngx_http_misdirect_header_filter(ngx_http_request_t *r)
{
    ngx_uint_t                       status;
    ngx_http_misdirect_ctx_t        *ctx;
    ngx_http_misdirect_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_misdirect_module);

    if (r != r->main || mcf == NULL || mcf->server == NULL
        || (r->headers_out.status != NGX_HTTP_MISDIRECTED_REQUEST
            && r->headers_out.status != NGX_HTTP_BAD_REQUEST))
    {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_misdirect_find_ctx(r);
    if (ctx != NULL && ctx->decided) {
        return ngx_http_next_header_filter(r);
    }

    if (r->headers_out.status == NGX_HTTP_BAD_REQUEST) {
#if (NGX_HTTP_SSL)
        if (!ngx_http_misdirect_certificate_refusal(r)) {
            return ngx_http_next_header_filter(r);
        }
#else
        return ngx_http_next_header_filter(r);
#endif
    }

    ctx = ngx_http_misdirect_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    status = ngx_http_misdirect_decide(r, ctx);
    ctx->status = status;

    if ((status == NGX_HTTP_MISDIRECTED_REQUEST || status == NGX_HTTP_BAD_REQUEST)
        && status != r->headers_out.status)
    {
        r->headers_out.status = status;
        r->headers_out.status_line.len = 0;
        ctx->replace = 1;
        if (!r->header_only) {
            r->headers_out.content_length_n = (status == NGX_HTTP_BAD_REQUEST)
                ? (off_t) (sizeof("400 Bad Request\n") - 1)
                : (off_t) (sizeof("421 Misdirected Request\n") - 1);
        }
        if (r->headers_out.content_length) {
            r->headers_out.content_length->hash = 0;
            r->headers_out.content_length = NULL;
        }
        ngx_str_set(&r->headers_out.content_type, "text/plain");
        r->headers_out.content_type_len = r->headers_out.content_type.len;
        r->headers_out.content_type_lowcase = NULL;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_misdirect_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t                 *b;
    ngx_chain_t               *cl, out;
    ngx_http_misdirect_ctx_t  *ctx;

    ctx = ngx_http_misdirect_find_ctx(r);
    if (ctx == NULL || !ctx->replace) {
        return ngx_http_next_body_filter(r, in);
    }

    /* nginx's page for its own status is dropped */
    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }

    if (ctx->replaced) {
        return NGX_OK;
    }
    ctx->replaced = 1;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    if (ctx->status == NGX_HTTP_BAD_REQUEST) {
        b->pos = (u_char *) "400 Bad Request\n";
        b->last = b->pos + sizeof("400 Bad Request\n") - 1;
    } else {
        b->pos = (u_char *) "421 Misdirected Request\n";
        b->last = b->pos + sizeof("421 Misdirected Request\n") - 1;
    }
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}
