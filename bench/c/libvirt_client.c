/*
 * The C load client of the libvirt benchmark (benches/libvirt.rs), on
 * libvirt's public API (libvirt.so, whose remote driver speaks the REMOTE
 * protocol to libvirtd).
 *
 *   libvirt_client URI THREADS WARMUP_MS MEASURE_MS
 *
 * Opens ONE connection, virConnectOpen(URI) (e.g.
 * "test+tcp://127.0.0.1:16509/default": AUTH_LIST, CONNECT_OPEN and the
 * remote driver's other set-up calls), before the clock starts. THREADS
 * threads then share that virConnectPtr, each calling
 * virConnectGetLibVersion (REMOTE_PROC_CONNECT_GET_LIB_VERSION) in a loop:
 * libvirt connections are thread-safe and the remote driver multiplexes
 * concurrent calls on the one socket, so "N calls in flight" is N threads.
 * Every result is checked against the version of a first call. Calls run
 * for WARMUP_MS, then the latency of every call that starts and ends in
 * the next MEASURE_MS is kept; virConnectClose (CONNECT_CLOSE) at the end.
 *
 * Output on stdout, for the benchmark to parse (as c/rpc_client.c):
 *   measure            when the measured window starts
 *   end                when it ends
 *   cpu_ns N           CPU time of this process (all threads) in the window
 *   errors N           failed calls and wrong results, whole run
 *   latencies N        then N lines, one call's latency in ns each
 */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <libvirt/libvirt.h>

static uint64_t warm_end_ns, end_ns;
static virConnectPtr conn;
static unsigned long expected;

struct worker {
	uint64_t *lat;
	size_t n, cap;
	uint64_t errors;
	pthread_t thread;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
		;
}

static uint64_t
cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u
	    + ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static void *
run(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		uint64_t t0 = now_ns(), t1;
		unsigned long version = 0;
		int ok;

		if (t0 >= end_ns)
			break;
		ok = virConnectGetLibVersion(conn, &version) == 0 && version == expected;
		t1 = now_ns();
		if (!ok) {
			w->errors++;
			continue;
		}
		if (t0 < warm_end_ns || t1 > end_ns)
			continue;
		if (w->n == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 4096;
			w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
			if (w->lat == NULL) {
				perror("libvirt_client: realloc");
				exit(1);
			}
		}
		w->lat[w->n++] = t1 - t0;
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct worker *workers;
	uint64_t cpu0, cpu1, errors = 0, total = 0;
	int threads, i;

	if (argc != 5) {
		fprintf(stderr, "usage: libvirt_client URI THREADS WARMUP_MS MEASURE_MS\n");
		return 2;
	}
	threads = atoi(argv[2]);
	if (threads < 1) {
		fprintf(stderr, "libvirt_client: THREADS must be at least 1\n");
		return 2;
	}
	if (virInitialize() < 0) {
		fprintf(stderr, "libvirt_client: virInitialize failed\n");
		return 1;
	}
	conn = virConnectOpen(argv[1]);
	if (conn == NULL) {
		fprintf(stderr, "libvirt_client: cannot open %s\n", argv[1]);
		return 1;
	}
	if (virConnectGetLibVersion(conn, &expected) < 0) {
		fprintf(stderr, "libvirt_client: virConnectGetLibVersion failed\n");
		return 1;
	}

	workers = calloc((size_t)threads, sizeof *workers);
	if (workers == NULL) {
		perror("libvirt_client: calloc");
		return 1;
	}
	warm_end_ns = now_ns() + (uint64_t)atoll(argv[3]) * 1000000u;
	end_ns = warm_end_ns + (uint64_t)atoll(argv[4]) * 1000000u;
	for (i = 0; i < threads; i++)
		if (pthread_create(&workers[i].thread, NULL, run, &workers[i]) != 0) {
			perror("libvirt_client: pthread_create");
			return 1;
		}

	sleep_until(warm_end_ns);
	cpu0 = cpu_ns();
	printf("measure\n");
	fflush(stdout);
	sleep_until(end_ns);
	cpu1 = cpu_ns();
	printf("end\n");
	fflush(stdout);

	for (i = 0; i < threads; i++) {
		pthread_join(workers[i].thread, NULL);
		errors += workers[i].errors;
		total += workers[i].n;
	}
	if (virConnectClose(conn) < 0)
		errors++;
	printf("cpu_ns %llu\nerrors %llu\nlatencies %llu\n", (unsigned long long)(cpu1 - cpu0),
	    (unsigned long long)errors, (unsigned long long)total);
	for (i = 0; i < threads; i++) {
		size_t j;
		for (j = 0; j < workers[i].n; j++)
			printf("%llu\n", (unsigned long long)workers[i].lat[j]);
		free(workers[i].lat);
	}
	free(workers);
	return fflush(stdout) == 0 ? 0 : 1;
}
