/*
 * The libtirpc server of the RPC benchmark (benches/rpc.rs): the
 * dispatcher `peertest_prog_1` is `rpcgen -m peertest.x` output, generated
 * into OUT_DIR by build.rs; only the procedure bodies and main() are here.
 *
 * main() differs from rpcgen's in what the benchmark needs: one TCP
 * transport on 127.0.0.1 with a port the kernel picks, printed on stdout,
 * and no portmap/rpcbind registration (svc_register with protocol 0).
 * Serving is stock: the single-threaded svc_run() loop.
 *
 *   rpc_server        prints "PORT\n", then serves until killed
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

int
main(void)
{
	struct sockaddr_in addr = { 0 };
	socklen_t len = sizeof addr;
	SVCXPRT *transp;
	int sock;

	/* Never outlive the benchmark, even if it dies without killing us. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);

	sock = socket(AF_INET, SOCK_STREAM, 0);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (sock < 0 || bind(sock, (struct sockaddr *)&addr, sizeof addr) < 0
	    || listen(sock, SOMAXCONN) < 0
	    || getsockname(sock, (struct sockaddr *)&addr, &len) < 0) {
		perror("rpc_server: socket");
		return 1;
	}
	transp = svctcp_create(sock, 0, 0);
	if (transp == NULL) {
		fprintf(stderr, "rpc_server: svctcp_create failed\n");
		return 1;
	}
	/* Protocol 0: register the dispatcher without telling portmap. */
	if (!svc_register(transp, PEERTEST_PROG, PEERTEST_V1, peertest_prog_1, 0)) {
		fprintf(stderr, "rpc_server: svc_register failed\n");
		return 1;
	}
	printf("%u\n", ntohs(addr.sin_port));
	fflush(stdout);
	svc_run();
	fprintf(stderr, "rpc_server: svc_run returned\n");
	return 1;
}
