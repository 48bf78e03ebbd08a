#include "netproxy/resolve.h"

#include "netproxy/policy.h"

#include <errno.h>
#include <pthread.h>
#include <resolv.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct job {
	struct job *next;
	uint64_t cookie;
	char host[NP_HOST_MAX + 1];
	char port[6];
	struct addrinfo *ai;
	int err;
};

struct np_resolver {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *todo, **todo_tail;
	struct job *done;
	size_t pending; /* submitted, answer not yet taken */
	int efd;
};

static struct job *pop_todo(struct np_resolver *r)
{
	pthread_mutex_lock(&r->lock);
	while (!r->todo)
		pthread_cond_wait(&r->wake, &r->lock);
	struct job *j = r->todo;
	r->todo = j->next;
	if (!r->todo)
		r->todo_tail = &r->todo;
	pthread_mutex_unlock(&r->lock);
	return j;
}

/* Names are looked up as given, never with resolv.conf's search list or
 * default domain appended: else a name that does not resolve could come
 * back as NAME.corp.internal, a host the policy never saw (and, for a
 * proxy_allow_private name, its private address accepted).  _res is per
 * thread; the flags hold until resolv.conf changes. */
static void no_search_list(void)
{
	if (res_init() == 0)
		_res.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
}

static void *worker(void *arg)
{
	struct np_resolver *r = arg;
	for (;;) {
		no_search_list();
		struct job *j = pop_todo(r);
		struct addrinfo hints = {
		    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
		j->err = getaddrinfo(j->host, j->port, &hints, &j->ai);
		pthread_mutex_lock(&r->lock);
		j->next = r->done;
		r->done = j;
		pthread_mutex_unlock(&r->lock);
		uint64_t one = 1;
		(void)!write(r->efd, &one, sizeof(one));
	}
	return NULL;
}

int np_resolver_start(struct np_resolver **ret)
{
	struct np_resolver *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	r->todo_tail = &r->todo;
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0)
		return -errno;
	/* The threads take no signal: the loop's signalfd gets them all. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < NP_RESOLVER_THREADS; i++) {
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 256 * 1024);
		int e = pthread_create(&t, &a, worker, r);
		pthread_attr_destroy(&a);
		if (e) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return -e;
		}
		pthread_detach(t);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*ret = r;
	return 0;
}

int np_resolver_fd(const struct np_resolver *r)
{
	return r->efd;
}

int np_resolver_submit(struct np_resolver *r, const char *host, uint16_t port, uint64_t cookie)
{
	pthread_mutex_lock(&r->lock);
	bool full = r->pending >= NP_RESOLVER_QUEUE_MAX;
	if (!full)
		r->pending++;
	pthread_mutex_unlock(&r->lock);
	if (full)
		return -EAGAIN;
	struct job *j = calloc(1, sizeof(*j));
	if (!j) {
		pthread_mutex_lock(&r->lock);
		r->pending--;
		pthread_mutex_unlock(&r->lock);
		return -ENOMEM;
	}
	j->cookie = cookie;
	snprintf(j->host, sizeof(j->host), "%s", host);
	snprintf(j->port, sizeof(j->port), "%u", (unsigned)port);
	pthread_mutex_lock(&r->lock);
	*r->todo_tail = j;
	r->todo_tail = &j->next;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

int np_resolver_next(struct np_resolver *r, uint64_t *ret_cookie, struct addrinfo **ret_ai,
		     int *ret_gai_err)
{
	uint64_t n;
	(void)!read(r->efd, &n, sizeof(n));
	pthread_mutex_lock(&r->lock);
	struct job *j = r->done;
	if (j) {
		r->done = j->next;
		r->pending--;
	}
	pthread_mutex_unlock(&r->lock);
	if (!j)
		return 0;
	*ret_cookie = j->cookie;
	*ret_ai = j->ai;
	*ret_gai_err = j->err;
	free(j);
	return 1;
}
