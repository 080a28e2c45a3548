/* A checked bulk transfer over TCP: the sender writes a pseudo-random stream that the receiver
 * regenerates and compares byte for byte as it arrives, so that data corrupted anywhere on the
 * path (a stale IOMMU translation makes the device read or write the wrong page) is caught
 * without storing it. The stream depends only on the seed and the offset.
 *   datacheck serve PORT                  receive (or send, as the client asks) forever
 *   datacheck send HOST PORT MIB [SEED]   send MIB MiB to the server, which checks them
 *   datacheck recv HOST PORT MIB [SEED]   have the server send MIB MiB, check them here
 * Prints "datacheck: ok bytes=N mbits=M" or "datacheck: MISMATCH at offset N" / an error, and
 * exits 0 only when every byte arrived intact. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

/* xorshift64* keyed by the 8-byte block index: any block can be regenerated on its own. */
static uint64_t block_word(uint64_t seed, uint64_t block)
{
	uint64_t x = seed ^ (block * 0x9E3779B97F4A7C15ULL);
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return x * 0x2545F4914F6CDD1DULL;
}

static void fill(uint8_t *buf, uint64_t off, size_t len, uint64_t seed)
{
	size_t i = 0;
	while (i < len && (off + i) % 8) { /* head, up to the next 8-byte block */
		buf[i] = (uint8_t)(block_word(seed, (off + i) / 8) >> (8 * ((off + i) % 8)));
		i++;
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t w = block_word(seed, (off + i) / 8);
		memcpy(buf + i, &w, 8); /* little-endian: byte k of the block is bits 8k..8k+7 */
	}
	for (; i < len; i++)
		buf[i] = (uint8_t)(block_word(seed, (off + i) / 8) >> (8 * ((off + i) % 8)));
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A transfer that moves no byte for this long has stalled (a queue stuck in the device under
 * test): it fails with a message instead of blocking the test for ever. */
#define STALL_SECS 60

static void set_stall_timeout(int fd)
{
	struct timeval tv = { .tv_sec = STALL_SECS };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A failed read or write: a stall (the timeout above) or another error, with where it happened. */
static void report_io_error(const char *what, uint64_t off, uint64_t total)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		printf("datacheck: STALLED: %s moved nothing for %d s, at byte %llu of %llu\n", what, STALL_SECS,
		       (unsigned long long)off, (unsigned long long)total);
	else
		printf("datacheck: %s failed at byte %llu of %llu: %s\n", what, (unsigned long long)off,
		       (unsigned long long)total, strerror(errno));
}

static int do_send(int fd, uint64_t total, uint64_t seed)
{
	static uint8_t buf[CHUNK];
	for (uint64_t off = 0; off < total;) {
		size_t n = total - off < CHUNK ? (size_t)(total - off) : CHUNK;
		fill(buf, off, n, seed);
		for (size_t done = 0; done < n;) {
			ssize_t w = write(fd, buf + done, n - done);
			if (w <= 0) {
				report_io_error("write", off + done, total);
				return 1;
			}
			done += (size_t)w;
		}
		off += n;
	}
	return 0;
}

/* Returns 0 when exactly `total` intact bytes arrived before the peer closed. */
static int do_recv(int fd, uint64_t total, uint64_t seed)
{
	static uint8_t buf[CHUNK], want[CHUNK];
	uint64_t off = 0;
	double t0 = now();
	for (;;) {
		ssize_t r = read(fd, buf, CHUNK);
		if (r < 0) {
			report_io_error("read", off, total);
			return 1;
		}
		if (r == 0)
			break;
		fill(want, off, (size_t)r, seed);
		if (memcmp(buf, want, (size_t)r)) {
			size_t i = 0;
			while (buf[i] == want[i])
				i++;
			printf("datacheck: MISMATCH at offset %llu (got 0x%02x, want 0x%02x)\n",
			       (unsigned long long)(off + i), buf[i], want[i]);
			return 1;
		}
		off += (uint64_t)r;
	}
	double secs = now() - t0;
	if (off != total) {
		printf("datacheck: SHORT %llu of %llu bytes\n", (unsigned long long)off, (unsigned long long)total);
		return 1;
	}
	printf("datacheck: ok bytes=%llu mbits=%.0f\n", (unsigned long long)off, secs > 0 ? off * 8 / secs / 1e6 : 0);
	return 0;
}

/* Request: 'S' (client sends) or 'R' (client receives), then total and seed, 8 bytes each. */
struct request {
	char dir;
	uint64_t total, seed;
} __attribute__((packed));

static int read_full(int fd, void *p, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t r = read(fd, (uint8_t *)p + done, n - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static int serve(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = INADDR_ANY };
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 4)) {
		perror("datacheck: bind/listen");
		return 1;
	}
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		set_stall_timeout(c);
		struct request rq;
		if (read_full(c, &rq, sizeof(rq)) == 0) {
			if (rq.dir == 'S') {
				int bad = do_recv(c, rq.total, rq.seed);
				char verdict = bad ? 'F' : 'K';
				if (write(c, &verdict, 1) != 1)
					perror("datacheck: verdict");
			} else if (do_send(c, rq.total, rq.seed) == 0) {
				shutdown(c, SHUT_WR);
			}
		}
		fflush(stdout);
		close(c);
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]));
	if (argc < 5 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv"))) {
		fprintf(stderr, "usage: datacheck serve PORT | datacheck send|recv HOST PORT MIB [SEED]\n");
		return 2;
	}
	struct request rq = { .dir = argv[1][0] == 's' ? 'S' : 'R', .total = strtoull(argv[4], NULL, 10) << 20,
			      .seed = argc > 5 ? strtoull(argv[5], NULL, 0) : 0x5EED };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
	if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1 || connect(s, (struct sockaddr *)&a, sizeof(a))) {
		perror("datacheck: connect");
		return 1;
	}
	set_stall_timeout(s);
	if (write(s, &rq, sizeof(rq)) != (ssize_t)sizeof(rq)) {
		perror("datacheck: request");
		return 1;
	}
	if (rq.dir == 'R')
		return do_recv(s, rq.total, rq.seed);
	double t0 = now();
	if (do_send(s, rq.total, rq.seed))
		return 1;
	shutdown(s, SHUT_WR);
	char verdict = 0;
	ssize_t got = read(s, &verdict, 1);
	if (got < 0) {
		report_io_error("waiting for the receiver's verdict", rq.total, rq.total);
		return 1;
	}
	if (got != 1 || verdict != 'K') {
		printf("datacheck: the receiver found the data damaged or short\n");
		return 1;
	}
	double secs = now() - t0;
	printf("datacheck: ok bytes=%llu mbits=%.0f\n", (unsigned long long)rq.total,
	       secs > 0 ? rq.total * 8 / secs / 1e6 : 0);
	return 0;
}
