/* Request/response latency over TCP (a TCP_RR equivalent): the client sends 1 byte, waits for
 * 1 byte back, N times, and prints transactions per second.
 *   rr server PORT          serve clients one after another, forever
 *   rr client HOST PORT N   run N transactions */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int full_io(int fd, char *c, int send_first)
{
	if (send_first)
		return write(fd, c, 1) == 1 && read(fd, c, 1) == 1 ? 0 : -1;
	return read(fd, c, 1) == 1 && write(fd, c, 1) == 1 ? 0 : -1;
}

static int serve(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = INADDR_ANY };
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 4)) {
		perror("rr: bind/listen");
		return 1;
	}
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		char b;
		while (full_io(c, &b, 0) == 0)
			;
		close(c);
	}
}

static int client(const char *host, int port, long n)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || connect(s, (struct sockaddr *)&a, sizeof(a))) {
		perror("rr: connect");
		return 1;
	}
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char b = 'x';
	for (long i = 0; i < n; i++) {
		if (full_io(s, &b, 1)) {
			fprintf(stderr, "rr: connection lost after %ld transactions\n", i);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("rr: transactions=%ld seconds=%.3f tps=%.0f\n", n, secs, n / secs);
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return serve(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: rr server PORT | rr client HOST PORT N\n");
	return 2;
}
