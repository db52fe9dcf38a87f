/*
 * The libtirpc server of the RPC benchmark (benches/rpc.rs): the
 * dispatcher `peertest_prog_1` is `rpcgen -m peertest.x` output, generated
 * into OUT_DIR by build.rs; only the procedure bodies and main() are here.
 *
 * main() differs from rpcgen's in what the benchmark needs: a TCP and a
 * UDP transport on 127.0.0.1 with ports the kernel picks, printed on
 * stdout, and no portmap/rpcbind registration (svc_register with protocol
 * 0). Serving is stock: the single-threaded svc_run() loop, which polls
 * both transports and every TCP connection.
 *
 *   rpc_server        prints "TCP_PORT UDP_PORT\n", then serves until killed
 *
 * Only PT_NULL and PT_ADD are timed; the other procedures answer
 * PROC_UNAVAIL, as the Rust server in benches/rpc.rs does.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "peertest.h"

void peertest_prog_1(struct svc_req *rqstp, SVCXPRT *transp);

void *
pt_null_1_svc(void *argp, struct svc_req *rqstp)
{
	static char result;
	(void)argp;
	(void)rqstp;
	return &result;
}

int *
pt_add_1_svc(pt_point *argp, struct svc_req *rqstp)
{
	static int result;
	(void)rqstp;
	result = argp->x + argp->y;
	return &result;
}

/* NULL tells the dispatcher that the reply has been sent already. */
char **
pt_echo_1_svc(char **argp, struct svc_req *rqstp)
{
	(void)argp;
	svcerr_noproc(rqstp->rq_xprt);
	return NULL;
}

pt_item *
pt_bump_1_svc(pt_item *argp, struct svc_req *rqstp)
{
	(void)argp;
	svcerr_noproc(rqstp->rq_xprt);
	return NULL;
}

pt_shape *
pt_shape_1_svc(pt_color *argp, struct svc_req *rqstp)
{
	(void)argp;
	svcerr_noproc(rqstp->rq_xprt);
	return NULL;
}

/* A socket of `type` bound to 127.0.0.1 on a port the kernel picks; its
 * port goes to *port. Exits on failure. */
static int
bound_socket(int type, unsigned *port)
{
	struct sockaddr_in addr = { 0 };
	socklen_t len = sizeof addr;
	int sock = socket(AF_INET, type, 0);

	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (sock < 0 || bind(sock, (struct sockaddr *)&addr, sizeof addr) < 0
	    || (type == SOCK_STREAM && listen(sock, SOMAXCONN) < 0)
	    || getsockname(sock, (struct sockaddr *)&addr, &len) < 0) {
		perror("rpc_server: socket");
		exit(1);
	}
	*port = ntohs(addr.sin_port);
	return sock;
}

int
main(void)
{
	SVCXPRT *tcp, *udp;
	unsigned tcp_port, udp_port;

	/* Never outlive the benchmark, even if it dies without killing us. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);

	tcp = svctcp_create(bound_socket(SOCK_STREAM, &tcp_port), 0, 0);
	udp = svcudp_create(bound_socket(SOCK_DGRAM, &udp_port));
	if (tcp == NULL || udp == NULL) {
		fprintf(stderr, "rpc_server: creating the transports failed\n");
		return 1;
	}
	/* Protocol 0: register the dispatcher without telling portmap. */
	if (!svc_register(tcp, PEERTEST_PROG, PEERTEST_V1, peertest_prog_1, 0)
	    || !svc_register(udp, PEERTEST_PROG, PEERTEST_V1, peertest_prog_1, 0)) {
		fprintf(stderr, "rpc_server: svc_register failed\n");
		return 1;
	}
	printf("%u %u\n", tcp_port, udp_port);
	fflush(stdout);
	svc_run();
	fprintf(stderr, "rpc_server: svc_run returned\n");
	return 1;
}
