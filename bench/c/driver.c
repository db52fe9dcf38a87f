/*
 * The c-tirpc side of the benchmark: builds the workload values in C by
 * the same rules as bench/src/model.rs, and wraps rpcgen's xdr_* routines
 * (bench_xdr.c, generated into OUT_DIR) the way a C program uses them:
 *
 *   encode: xdrmem_create(XDR_ENCODE) over a preallocated buffer, xdr_T;
 *   decode: zero the target, xdrmem_create(XDR_DECODE), xdr_T, then
 *           xdr_free (libtirpc allocates with calloc/malloc).
 *
 * For each top-level type T (small, small_list, dirlist, bulk, param_list):
 *
 *   T     *c_make_T(void);                 the workload value
 *   void   c_free_T(T *);                  xdr_free + free
 *   size_t c_encode_T(const T *, char *buf, size_t cap);   0 on failure
 *   int    c_decode_T(const char *, size_t, T *out);       1 on success
 *   void   c_xdr_free_T(T *);              frees what c_decode_T allocated
 *   int    c_decode_free_T(const char *, size_t);  decode + xdr_free (timed)
 *   int    c_check_T(const char *, size_t);  decodes and compares with
 *                                            c_make_T's value: 1 if equal
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define N 1000
#define BULK_LEN (1u << 20)
#define SMALL_INDEX 18

static void *xmalloc(size_t n) {
    void *p = calloc(1, n);
    if (!p) {
        abort();
    }
    return p;
}

/* 'a' + (i + j) mod 26, len bytes. */
static char *make_name(unsigned i, unsigned len) {
    char *s = xmalloc(len + 1);
    for (unsigned j = 0; j < len; j++) {
        s[j] = (char)('a' + (i + j) % 26);
    }
    s[len] = '\0';
    return s;
}

static void fill_small(small *v, unsigned i) {
    for (unsigned j = 0; j < DOM_UUID_LEN; j++) {
        v->uuid[j] = (char)(uint8_t)(i * 31 + j * 7);
    }
    v->name = make_name(i, 8 + i % 24);
    v->id = (int)i - 500;
    v->flags = (u_int)((uint32_t)i * 2654435761u);
    v->mem_kb = ((int64_t)i - 500) * 1000003;
    v->max_mem_kb = (uint64_t)i * 0x9E3779B97F4A7C15ull;
    v->active = i % 2 == 0;
    v->state = (dom_state)(i % 7);
}

small *c_make_small(void) {
    small *v = xmalloc(sizeof *v);
    fill_small(v, SMALL_INDEX);
    return v;
}

small_list *c_make_small_list(void) {
    small_list *v = xmalloc(sizeof *v);
    v->items.items_len = N;
    v->items.items_val = xmalloc(N * sizeof(small));
    for (unsigned i = 0; i < N; i++) {
        fill_small(&v->items.items_val[i], i);
    }
    return v;
}

dirlist *c_make_dirlist(void) {
    dirlist *v = xmalloc(sizeof *v);
    entry *next = NULL;
    for (unsigned k = N; k-- > 0;) {
        entry *e = xmalloc(sizeof *e);
        e->fileid = 0x10000000ull + 3ull * k;
        e->name = make_name(k, 4 + k % 20);
        e->cookie = ((uint64_t)k + 1) * 512;
        e->nextentry = next;
        next = e;
    }
    v->entries = next;
    v->eof = 1;
    return v;
}

bulk *c_make_bulk(void) {
    bulk *v = xmalloc(sizeof *v);
    v->data.data_len = BULK_LEN;
    v->data.data_val = xmalloc(BULK_LEN);
    for (unsigned j = 0; j < BULK_LEN; j++) {
        v->data.data_val[j] = (char)(uint8_t)(j * 7 + 3);
    }
    return v;
}

param_list *c_make_param_list(void) {
    param_list *v = xmalloc(sizeof *v);
    v->items.items_len = N;
    v->items.items_val = xmalloc(N * sizeof(param_value));
    for (unsigned i = 0; i < N; i++) {
        param_value *p = &v->items.items_val[i];
        p->type = (param_type)(i % 8 + 1);
        switch (p->type) {
        case PARAM_INT:
            p->param_value_u.i = (int)i - 500;
            break;
        case PARAM_UINT:
            p->param_value_u.ui = (u_int)((uint32_t)i * 2654435761u);
            break;
        case PARAM_LLONG:
            p->param_value_u.l = ((int64_t)i - 500) * 1000000007;
            break;
        case PARAM_ULLONG:
            p->param_value_u.ul = (uint64_t)i * 0x9E3779B97F4A7C15ull;
            break;
        case PARAM_DOUBLE:
            p->param_value_u.d = (double)i * 0.5 + 0.25;
            break;
        case PARAM_BOOLEAN:
            p->param_value_u.b = (i / 8) % 2 == 0;
            break;
        case PARAM_STRING: {
            char buf[32];
            snprintf(buf, sizeof buf, "typed_param%u", i);
            p->param_value_u.s = strdup(buf);
            if (!p->param_value_u.s) {
                abort();
            }
            break;
        }
        case PARAM_NONE:
            break;
        }
    }
    return v;
}

/* ------------------------------------------------------------ equality */

static int eq_str(const char *a, const char *b) {
    return a && b && strcmp(a, b) == 0;
}

static int eq_small(const small *a, const small *b) {
    return memcmp(a->uuid, b->uuid, DOM_UUID_LEN) == 0 && eq_str(a->name, b->name) &&
           a->id == b->id && a->flags == b->flags && a->mem_kb == b->mem_kb &&
           a->max_mem_kb == b->max_mem_kb && a->active == b->active && a->state == b->state;
}

static int eq_small_list(const small_list *a, const small_list *b) {
    if (a->items.items_len != b->items.items_len) {
        return 0;
    }
    for (u_int i = 0; i < a->items.items_len; i++) {
        if (!eq_small(&a->items.items_val[i], &b->items.items_val[i])) {
            return 0;
        }
    }
    return 1;
}

static int eq_dirlist(const dirlist *a, const dirlist *b) {
    const entry *x = a->entries, *y = b->entries;
    for (; x && y; x = x->nextentry, y = y->nextentry) {
        if (x->fileid != y->fileid || !eq_str(x->name, y->name) || x->cookie != y->cookie) {
            return 0;
        }
    }
    return !x && !y && a->eof == b->eof;
}

static int eq_bulk(const bulk *a, const bulk *b) {
    return a->data.data_len == b->data.data_len &&
           memcmp(a->data.data_val, b->data.data_val, a->data.data_len) == 0;
}

static int eq_param_value(const param_value *a, const param_value *b) {
    if (a->type != b->type) {
        return 0;
    }
    switch (a->type) {
    case PARAM_INT:
        return a->param_value_u.i == b->param_value_u.i;
    case PARAM_UINT:
        return a->param_value_u.ui == b->param_value_u.ui;
    case PARAM_LLONG:
        return a->param_value_u.l == b->param_value_u.l;
    case PARAM_ULLONG:
        return a->param_value_u.ul == b->param_value_u.ul;
    case PARAM_DOUBLE:
        return memcmp(&a->param_value_u.d, &b->param_value_u.d, sizeof(double)) == 0;
    case PARAM_BOOLEAN:
        return a->param_value_u.b == b->param_value_u.b;
    case PARAM_STRING:
        return eq_str(a->param_value_u.s, b->param_value_u.s);
    case PARAM_NONE:
        return 1;
    }
    return 0;
}

static int eq_param_list(const param_list *a, const param_list *b) {
    if (a->items.items_len != b->items.items_len) {
        return 0;
    }
    for (u_int i = 0; i < a->items.items_len; i++) {
        if (!eq_param_value(&a->items.items_val[i], &b->items.items_val[i])) {
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------ codecs */

#define CODEC(T)                                                                  \
    void c_free_##T(T *v) {                                                       \
        xdr_free((xdrproc_t)xdr_##T, (char *)v);                                  \
        free(v);                                                                  \
    }                                                                             \
    size_t c_encode_##T(const T *v, char *buf, size_t cap) {                      \
        XDR x;                                                                    \
        xdrmem_create(&x, buf, (u_int)cap, XDR_ENCODE);                           \
        size_t n = xdr_##T(&x, (T *)v) ? xdr_getpos(&x) : 0;                      \
        xdr_destroy(&x);                                                          \
        return n;                                                                 \
    }                                                                             \
    int c_decode_##T(const char *buf, size_t len, T *out) {                       \
        XDR x;                                                                    \
        memset(out, 0, sizeof *out);                                              \
        xdrmem_create(&x, (char *)buf, (u_int)len, XDR_DECODE);                   \
        int ok = xdr_##T(&x, out) && xdr_getpos(&x) == len;                       \
        xdr_destroy(&x);                                                          \
        return ok;                                                                \
    }                                                                             \
    void c_xdr_free_##T(T *v) { xdr_free((xdrproc_t)xdr_##T, (char *)v); }        \
    int c_decode_free_##T(const char *buf, size_t len) {                          \
        T v;                                                                      \
        int ok = c_decode_##T(buf, len, &v);                                      \
        xdr_free((xdrproc_t)xdr_##T, (char *)&v);                                \
        return ok;                                                                \
    }                                                                             \
    int c_check_##T(const char *buf, size_t len) {                                \
        T v;                                                                      \
        T *model = c_make_##T();                                                  \
        int ok = c_decode_##T(buf, len, &v) && eq_##T(&v, model);                 \
        xdr_free((xdrproc_t)xdr_##T, (char *)&v);                                 \
        c_free_##T(model);                                                        \
        return ok;                                                                \
    }

CODEC(small)
CODEC(small_list)
CODEC(dirlist)
CODEC(bulk)
CODEC(param_list)
