/*
 * The libtirpc load client of the RPC benchmark (benches/rpc.rs).
 *
 *   rpc_client tcp|udp PORT PROC THREADS WARMUP_MS MEASURE_MS
 *
 * libtirpc clients are synchronous, so "N calls in flight" is N threads,
 * each with its own CLIENT (clnttcp_create: its own TCP connection to
 * 127.0.0.1:PORT; clntudp_create: its own UDP socket, retransmitting
 * after 1 s) calling clnt_call in a loop. PROC is 0 (PT_NULL) or
 * 1 (PT_ADD, whose result is checked). Connections are made before the
 * clock starts; calls run for WARMUP_MS, then the latency of every call
 * that starts and ends in the next MEASURE_MS is kept.
 *
 * Output on stdout, for the benchmark to parse:
 *   measure            when the measured window starts
 *   end                when it ends
 *   cpu_ns N           CPU time of this process (all threads) in the window
 *   errors N           failed calls and wrong results, whole run
 *   latencies N        then N lines, one call's latency in ns each
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "peertest.h"

static uint64_t warm_end_ns, end_ns;

struct worker {
	CLIENT *clnt;
	int proc;
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
	struct timeval timeout = { 25, 0 };
	int i = 0;

	for (;;) {
		uint64_t t0 = now_ns(), t1;
		enum clnt_stat st;
		int ok;

		if (t0 >= end_ns)
			break;
		if (w->proc == PT_NULL) {
			st = clnt_call(w->clnt, PT_NULL, (xdrproc_t)xdr_void, NULL,
			    (xdrproc_t)xdr_void, NULL, timeout);
			ok = st == RPC_SUCCESS;
		} else {
			pt_point p = { i++ & 0xffff, 2 };
			int sum = 0;
			st = clnt_call(w->clnt, PT_ADD, (xdrproc_t)xdr_pt_point, (caddr_t)&p,
			    (xdrproc_t)xdr_int, (caddr_t)&sum, timeout);
			ok = st == RPC_SUCCESS && sum == p.x + p.y;
		}
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
				perror("rpc_client: realloc");
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
	struct sockaddr_in addr = { 0 };
	struct worker *workers;
	uint64_t cpu0, cpu1, errors = 0, total = 0;
	int proc, threads, udp, i;

	if (argc != 7) {
		fprintf(stderr, "usage: rpc_client tcp|udp PORT PROC THREADS WARMUP_MS MEASURE_MS\n");
		return 2;
	}
	udp = strcmp(argv[1], "udp") == 0;
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((uint16_t)atoi(argv[2]));
	proc = atoi(argv[3]);
	threads = atoi(argv[4]);
	if ((!udp && strcmp(argv[1], "tcp") != 0) || (proc != PT_NULL && proc != PT_ADD)
	    || threads < 1) {
		fprintf(stderr, "rpc_client: tcp or udp, PROC 0 or 1, THREADS at least 1\n");
		return 2;
	}

	workers = calloc((size_t)threads, sizeof *workers);
	for (i = 0; i < threads; i++) {
		int sock = RPC_ANYSOCK;
		struct timeval retransmit = { 1, 0 };
		workers[i].proc = proc;
		workers[i].clnt = udp
		    ? clntudp_create(&addr, PEERTEST_PROG, PEERTEST_V1, retransmit, &sock)
		    : clnttcp_create(&addr, PEERTEST_PROG, PEERTEST_V1, &sock, 0, 0);
		if (workers[i].clnt == NULL) {
			clnt_pcreateerror("rpc_client: creating the client");
			return 1;
		}
	}

	warm_end_ns = now_ns() + (uint64_t)atoll(argv[5]) * 1000000u;
	end_ns = warm_end_ns + (uint64_t)atoll(argv[6]) * 1000000u;
	for (i = 0; i < threads; i++)
		if (pthread_create(&workers[i].thread, NULL, run, &workers[i]) != 0) {
			perror("rpc_client: pthread_create");
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
	printf("cpu_ns %llu\nerrors %llu\nlatencies %llu\n", (unsigned long long)(cpu1 - cpu0),
	    (unsigned long long)errors, (unsigned long long)total);
	for (i = 0; i < threads; i++) {
		size_t j;
		for (j = 0; j < workers[i].n; j++)
			printf("%llu\n", (unsigned long long)workers[i].lat[j]);
		clnt_destroy(workers[i].clnt);
		free(workers[i].lat);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
