/*
 * Differential-test harness: the C side of tests/tests/differential.rs.
 *
 * The test fills in @HEADER@ (the header `rpcgen -h` made for one corpus
 * file) and @TABLE@ (one entry per type: name, rpcgen's xdr_<type>, and
 * sizeof, and the type's printer or NULL), @PRINTERS@ (field-by-field
 * printers generated from xdrgen's IR, see tests/build/interop.rs) and
 * @CONSTANTS@ (every constant and enum member of the file, by its C name),
 * compiles this file with that file's `rpcgen -c` output and links it
 * against libtirpc.
 *
 * Protocol on stdin/stdout, every u32 in native byte order:
 *   request:  u32 name length, name bytes, u32 data length, data bytes
 *   reply:    u32 status, u32 bytes consumed by the decode,
 *             u32 output length, output bytes
 * For each request the named type is decoded (XDR_DECODE into a zeroed
 * object) from the data, encoded again (XDR_ENCODE) and freed (xdr_free).
 * A name starting with `?` asks for the decoded value printed instead of
 * encoded (status 1 also when the type has no printer). The name `=`
 * asks for the constants table as text, one `NAME VALUE` line each.
 * The process exits at end of input. Its address space is limited to 1 GiB.
 */
#include "@HEADER@"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <rpc/rpc.h>

static void xdrgen_test_hex(FILE *o, const char *p, u_int n)
{
	fputs("x\"", o);
	for (u_int i = 0; i < n; i++)
		fprintf(o, "%02x", (unsigned char)p[i]);
	fputc('"', o);
}

@PRINTERS@

/* Reply statuses; names prefixed to stay clear of the rpcgen header's. */
#define XDRGEN_TEST_OK 0
#define XDRGEN_TEST_UNKNOWN_TYPE 1
#define XDRGEN_TEST_DECODE_FAILED 2
#define XDRGEN_TEST_ENCODE_FAILED 3

struct xdrgen_test_entry {
	const char *name;
	xdrproc_t proc;
	size_t size;
	void (*print)(FILE *, const void *);
};

struct xdrgen_test_constant {
	const char *name;
	long long value;
};

static const struct xdrgen_test_constant XDRGEN_TEST_CONSTANTS[] = {
@CONSTANTS@
	{ NULL, 0 }
};

static const struct xdrgen_test_entry XDRGEN_TEST_TABLE[] = {
@TABLE@
	{ NULL, NULL, 0, NULL }
};

static int xdrgen_test_read_full(void *p, size_t n)
{
	return n == 0 || fread(p, 1, n, stdin) == n;
}

static void xdrgen_test_write_u32(uint32_t v)
{
	if (fwrite(&v, 4, 1, stdout) != 1)
		exit(3);
}

int main(void)
{
	char name[512];
	/* Mutated length words can ask for gigabytes: let malloc fail instead
	   (libtirpc then rejects the input). */
	struct rlimit limit = { 1UL << 30, 1UL << 30 };
	setrlimit(RLIMIT_AS, &limit);
	for (;;) {
		uint32_t name_len, len;
		if (!xdrgen_test_read_full(&name_len, 4))
			return 0;
		if (name_len >= sizeof name || !xdrgen_test_read_full(name, name_len))
			return 2;
		name[name_len] = '\0';
		if (!xdrgen_test_read_full(&len, 4))
			return 2;
		unsigned char *in = malloc(len ? len : 1);
		if (in == NULL || !xdrgen_test_read_full(in, len))
			return 2;

		const struct xdrgen_test_entry *e = NULL;
		int print = name[0] == '?';
		if (strcmp(name, "=") == 0) {
			char *text = NULL;
			size_t text_len = 0;
			FILE *o = open_memstream(&text, &text_len);
			if (o == NULL)
				return 2;
			for (const struct xdrgen_test_constant *c = XDRGEN_TEST_CONSTANTS; c->name != NULL; c++)
				fprintf(o, "%s %lld\n", c->name, c->value);
			fclose(o);
			xdrgen_test_write_u32(XDRGEN_TEST_OK);
			xdrgen_test_write_u32(0);
			xdrgen_test_write_u32((uint32_t)text_len);
			if (fwrite(text, 1, text_len, stdout) != text_len || fflush(stdout) != 0)
				return 3;
			free(text);
			free(in);
			continue;
		}
		for (const struct xdrgen_test_entry *t = XDRGEN_TEST_TABLE; t->name != NULL; t++) {
			if (strcmp(t->name, name + print) == 0 && (!print || t->print != NULL)) {
				e = t;
				break;
			}
		}

		uint32_t status = XDRGEN_TEST_OK, consumed = 0, out_len = 0;
		unsigned char *out = NULL;
		if (e == NULL) {
			status = XDRGEN_TEST_UNKNOWN_TYPE;
		} else {
			void *obj = calloc(1, e->size);
			XDR dec;
			if (obj == NULL)
				return 2;
			xdrmem_create(&dec, (char *)in, len, XDR_DECODE);
			if (!e->proc(&dec, obj)) {
				status = XDRGEN_TEST_DECODE_FAILED;
				consumed = xdr_getpos(&dec);
			} else if (print) {
				char *text = NULL;
				size_t text_len = 0;
				FILE *o = open_memstream(&text, &text_len);
				if (o == NULL)
					return 2;
				consumed = xdr_getpos(&dec);
				e->print(o, obj);
				fclose(o);
				out = (unsigned char *)text;
				out_len = (uint32_t)text_len;
			} else {
				size_t cap = (size_t)len * 4 + 65536;
				XDR enc;
				consumed = xdr_getpos(&dec);
				out = malloc(cap);
				if (out == NULL)
					return 2;
				xdrmem_create(&enc, (char *)out, (u_int)cap, XDR_ENCODE);
				if (!e->proc(&enc, obj))
					status = XDRGEN_TEST_ENCODE_FAILED;
				else
					out_len = xdr_getpos(&enc);
				xdr_destroy(&enc);
			}
			xdr_destroy(&dec);
			xdr_free(e->proc, obj);
			free(obj);
		}
		xdrgen_test_write_u32(status);
		xdrgen_test_write_u32(consumed);
		xdrgen_test_write_u32(out_len);
		if (out_len != 0 && fwrite(out, 1, out_len, stdout) != out_len)
			return 3;
		if (fflush(stdout) != 0)
			return 3;
		free(out);
		free(in);
	}
}
