/* A tiny TAP producer for the unit tests (header-only; one test binary = one TU).
 *
 *   plan(n);  or  nothing, and done_testing() prints the plan at the end
 *   ok(cond, fmt, ...)               is_int(got, want, fmt, ...)
 *   is_str(got, want, fmt, ...)      is_errno(got, want, fmt, ...)  (-errno values)
 *   skip(n, why)                     diag(fmt, ...)
 *   todo_start(why) ... todo_end()   failures in between are known bugs ("# TODO")
 *   return done_testing();           non-zero when a test failed or the count is off
 *
 * Every line is flushed at once so that a fork() never duplicates buffered output. */
#ifndef EPHEMERA_TAP_H
#define EPHEMERA_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct tap_state {
	int planned; /* -1: no plan yet */
	int run, failed, todo_failed;
	const char *todo; /* reason while inside todo_start/todo_end */
};

static struct tap_state tap_ = {.planned = -1};

static inline __attribute__((format(printf, 3, 0))) void tap_vline(FILE *f, const char *prefix,
								   const char *fmt, va_list ap)
{
	char buf[2048];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* One "# " per line so that a multi-line message stays a comment. */
	for (char *line = buf, *nl; line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (nl && !*nl)
			nl = NULL;
		fprintf(f, "%s%s\n", prefix, line);
	}
	fflush(f);
}

/* Diagnostics go to stderr, except inside a TODO block, where (as in Perl's
 * Test::More) they go to stdout so that prove does not show a known bug as news. */
static inline __attribute__((format(printf, 1, 2))) void diag(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	va_start(ap, fmt);
	tap_vline(tap_.todo ? stdout : stderr, "# ", fmt, ap);
	va_end(ap);
}

static inline void plan(int n)
{
	tap_.planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static inline void todo_start(const char *why)
{
	tap_.todo = why;
}
static inline void todo_end(void)
{
	tap_.todo = NULL;
}

static inline __attribute__((format(printf, 4, 0))) bool
tap_vresult(bool pass, const char *file, int line, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '#')
			*p = ' '; /* '#' would start a directive */
	tap_.run++;
	printf("%sok %d - %s", pass ? "" : "not ", tap_.run, msg);
	if (tap_.todo)
		printf(" # TODO %s", tap_.todo);
	printf("\n");
	fflush(stdout);
	if (!pass) {
		if (tap_.todo)
			tap_.todo_failed++;
		else
			tap_.failed++;
		diag("  Failed %stest at %s line %d.", tap_.todo ? "(TODO) " : "", file, line);
	}
	return pass;
}

static inline __attribute__((format(printf, 4, 5))) bool tap_ok(bool pass, const char *file,
								int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool r = tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	return r;
}

static inline __attribute__((format(printf, 5, 6))) bool
tap_is_int(long long got, long long want, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool r = tap_vresult(got == want, file, line, fmt, ap);
	va_end(ap);
	if (!r)
		diag("       got: %lld\n  expected: %lld", got, want);
	return r;
}

static inline __attribute__((format(printf, 5, 6))) bool
tap_is_str(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
{
	bool pass = (!got && !want) || (got && want && strcmp(got, want) == 0);
	va_list ap;
	va_start(ap, fmt);
	bool r = tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	if (!r)
		diag("       got: %s%s%s\n  expected: %s%s%s", got ? "'" : "", got ? got : "NULL",
		     got ? "'" : "", want ? "'" : "", want ? want : "NULL", want ? "'" : "");
	return r;
}

static inline __attribute__((format(printf, 5, 6))) bool
tap_is_errno(int got, int want, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool r = tap_vresult(got == want, file, line, fmt, ap);
	va_end(ap);
	if (!r)
		diag("       got: %d (%s)\n  expected: %d (%s)", got,
		     got ? strerror(-got) : "success", want, want ? strerror(-want) : "success");
	return r;
}

static inline void skip(int n, const char *why)
{
	for (int i = 0; i < n; i++) {
		tap_.run++;
		printf("ok %d # skip %s\n", tap_.run, why);
	}
	fflush(stdout);
}

/* Prints the plan if none was given; returns the exit status for main(). */
static inline int done_testing(void)
{
	if (tap_.planned < 0)
		printf("1..%d\n", tap_.run);
	printf("# %d passed, %d failed", tap_.run - tap_.failed - tap_.todo_failed, tap_.failed);
	if (tap_.todo_failed)
		printf(", %d known bugs (TODO)", tap_.todo_failed);
	printf("\n");
	fflush(stdout);
	if (tap_.planned >= 0 && tap_.planned != tap_.run) {
		diag("planned %d tests but ran %d", tap_.planned, tap_.run);
		return 255;
	}
	return tap_.failed ? (tap_.failed < 254 ? tap_.failed : 254) : 0;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...)                                                                     \
	tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...)	 tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define is_errno(got, want, ...) tap_is_errno((got), (want), __FILE__, __LINE__, __VA_ARGS__)

#endif
