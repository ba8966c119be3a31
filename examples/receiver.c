/*
 * receiver: the demo's webhook endpoint. It listens on 127.0.0.1, prints
 * its port, answers 204 to every request, and logs one line per request
 * with its webhook-id. It does not verify signatures (the tests do that,
 * with the standardwebhooks library); it shows deliveries arriving.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(void)
{
	struct sockaddr_in	sa;
	socklen_t		len = sizeof(sa);
	char			buf[65536], *id, *end;
	ssize_t			n;
	int			s, c, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(s, 64) == -1 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) == -1) {
		perror("receiver");
		return 1;
	}
	printf("%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		if ((c = accept(s, NULL, NULL)) == -1)
			continue;
		/* Headers and a small body arrive together on loopback. */
		n = read(c, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		if ((id = strcasestr(buf, "\nwebhook-id: ")) != NULL) {
			id += 13;
			end = id + strcspn(id, "\r\n");
			fprintf(stderr, "receiver: delivery %.*s\n", (int)(end - id), id);
		}
		dprintf(c, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
		close(c);
	}
}
