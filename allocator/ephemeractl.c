/* ephemeractl: the administrator's view of sessions.  Root only.  Each command
 * is one function; main parses the global options and dispatches. */
#include "allocator/alloc.h"
#include "allocator/doctor.h"
#include "allocator/gateway.h"
#include "allocator/lifetime.h"
#include "allocator/reaper.h"
#include "common/parse.h"
#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "db/db.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct ctl {
	struct ephemera_config cfg;
	struct db *db;
	bool json;
	const char *conf_path;
};

static const char usage_text[] =
    "Usage: ephemeractl [--config PATH] COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  alloc --owner USER [--service S] [--tty T] [--rhost H]\n"
    "                           allocate a session for USER and print its name\n"
    "  list [--json] [--state STATE]\n"
    "                           list sessions, newest first\n"
    "  show NAME [--json]       show one session and its events\n"
    "  release NAME             free a session that never started\n"
    "  repair                   remove homes left by crashed allocations\n"
    "  reap NAME | reap --all   wipe ended sessions but their mnt/output\n"
    "  reap --wait NAME         the same, once its sandbox has ended (bounded wait)\n"
    "  kill NAME                end a live session now, then reap it\n"
    "  gc [--older-than DAYS]   free quarantined UIDs; delete outputs past retention\n"
    "  doctor                   check this host's setup: one OK/WARN/FAIL line per check\n"
    "  setup-gateway USER [--remove]\n"
    "                           make USER a gateway account (creating it if missing),\n"
    "                           or undo that\n"
    "\n"
    "Options:\n"
    "  --config PATH            use PATH instead of " CONFIG_DEFAULT_PATH "\n"
    "  -h, --help               show this help\n"
    "  --version                show the version\n"
    "\n"
    "STATE is one of allocated, active, closed, reaping, reaped, failed.\n"
    "See ephemeractl(8) and ephemera.conf(5).\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ephemeractl: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'ephemeractl --help'.\n");
	return 2;
}

static int cmd_alloc(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"owner", required_argument, NULL, 'o'},
	    {"service", required_argument, NULL, 's'},
	    {"tty", required_argument, NULL, 't'},
	    {"rhost", required_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	struct alloc_request req = {.service = "ephemeractl"};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'o': req.owner = optarg; break;
		case 's': req.service = optarg; break;
		case 't': req.tty = optarg; break;
		case 'r': req.rhost = optarg; break;
		default: return usage_error("alloc: bad option");
		}
	}
	if (!req.owner)
		return usage_error("alloc needs --owner USER");
	if (optind != argc)
		return usage_error("alloc: unexpected argument '%s'", argv[optind]);
	if ((req.service && strlen(req.service) > 32) || (req.tty && strlen(req.tty) > 64) ||
	    (req.rhost && strlen(req.rhost) > 255))
		return usage_error("alloc: --service, --tty or --rhost is too long");

	struct db_session s;
	char err[512];
	int r = alloc_session(&c->cfg, c->db, &req, &s, err, sizeof(err));
	if (r < 0) {
		log_msg(LOG_ERR, NULL, "alloc for %s refused: %s", req.owner, err);
		return 1;
	}
	log_msg(LOG_INFO, s.name, "allocated uid %u for owner %s", s.uid, s.owner);
	printf("%s\n", s.name);
	return 0;
}

static void format_time(int64_t at, char *buf, size_t size)
{
	time_t t = (time_t)at;
	struct tm tm;
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
}

static int print_row(const struct db_session *s, void *userdata)
{
	(void)userdata;
	char when[32];
	format_time(s->created_at, when, sizeof(when));
	printf("%-32s %10u %-16s %-9s %s\n", s->name, s->uid, s->owner,
	       session_state_name(s->state), when);
	return 0;
}

static int parse_list_opts(struct ctl *c, int argc, char **argv, enum session_state *state,
			   bool *have_state)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"state", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'j') {
			c->json = true;
		} else if (o == 's' && state) {
			if (session_state_from_name(optarg, state) < 0)
				return usage_error("unknown state '%s'", optarg);
			*have_state = true;
		} else {
			return usage_error("bad option");
		}
	}
	return 0;
}

static int print_json(int r, struct db *db, char *json, const char *what)
{
	if (r < 0) {
		log_msg(LOG_ERR, NULL, "%s: %s", what,
			r == -ENOENT ? "no such session" : db_errmsg(db));
		return 1;
	}
	printf("%s\n", json);
	free(json);
	return 0;
}

static int cmd_list(struct ctl *c, int argc, char **argv)
{
	enum session_state state;
	bool have_state = false;
	int r = parse_list_opts(c, argc, argv, &state, &have_state);
	if (r)
		return r;
	if (optind != argc)
		return usage_error("list: unexpected argument '%s'", argv[optind]);
	if (c->json) {
		char *json = NULL;
		r = db_sessions_json(c->db, have_state ? &state : NULL, &json);
		return print_json(r, c->db, json, "list");
	}
	printf("%-32s %10s %-16s %-9s %s\n", "NAME", "UID", "OWNER", "STATE", "CREATED");
	r = db_each_session(c->db, have_state ? &state : NULL, print_row, NULL);
	if (r < 0) {
		log_msg(LOG_ERR, NULL, "list: %s", db_errmsg(c->db));
		return 1;
	}
	return 0;
}

static int print_event(int64_t at, const char *kind, const char *detail, void *userdata)
{
	(void)userdata;
	char when[32];
	format_time(at, when, sizeof(when));
	printf("  %s  %-10s %s\n", when, kind, detail ? detail : "");
	return 0;
}

/* One attached login: service, tty, client, since (and until). */
static int print_login(const struct db_login *l, void *userdata)
{
	(void)userdata;
	char since[32], ended[32] = "";
	format_time(l->since, since, sizeof(since));
	if (l->ended_at)
		format_time(l->ended_at, ended, sizeof(ended));
	printf("  %-14s %-8s %-15s since %s%s%s\n", l->service, l->tty[0] ? l->tty : "-",
	       l->rhost[0] ? l->rhost : "-", since, ended[0] ? ", ended " : "", ended);
	return 0;
}

static int cmd_show(struct ctl *c, int argc, char **argv)
{
	int r = parse_list_opts(c, argc, argv, NULL, NULL);
	if (r)
		return r;
	if (optind + 1 != argc)
		return usage_error("show needs exactly one NAME");
	const char *name = argv[optind];
	char *json = NULL;
	if (c->json) {
		r = db_session_json(c->db, name, &json);
		return print_json(r, c->db, json, name);
	}
	struct db_session s;
	r = db_session_get(c->db, name, &s);
	if (r < 0) {
		log_msg(LOG_ERR, NULL, "%s: %s", name,
			r == -ENOENT ? "no such session" : db_errmsg(c->db));
		return 1;
	}
	printf("name:      %s\nuid:       %u\ngid:       %u\nowner:     %s (%u)\nstate:     %s\n"
	       "profile:   %s\nservice:   %s\ntty:       %s\nrhost:     %s\nhome:      %s/%s\n",
	       s.name, s.uid, s.gid, s.owner, s.owner_uid, session_state_name(s.state), s.profile,
	       s.service, s.tty, s.rhost, c->cfg.sessions_dir, s.name);
	printf("logins:\n");
	r = db_each_login(c->db, name, print_login, NULL);
	if (r < 0) {
		log_msg(LOG_ERR, name, "show: %s", db_errmsg(c->db));
		return 1;
	}
	printf("events:\n");
	r = db_each_event(c->db, name, print_event, NULL);
	if (r < 0) {
		log_msg(LOG_ERR, name, "show: %s", db_errmsg(c->db));
		return 1;
	}
	return 0;
}

static int cmd_release(struct ctl *c, int argc, char **argv)
{
	if (argc != 2)
		return usage_error("release needs exactly one NAME");
	char err[512];
	int r = alloc_release(&c->cfg, c->db, argv[1], err, sizeof(err));
	if (r < 0) {
		log_msg(LOG_ERR, argv[1], "release refused: %s", err);
		return 1;
	}
	log_msg(LOG_INFO, argv[1], "released");
	return 0;
}

static int cmd_repair(struct ctl *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage_error("repair takes no arguments");
	char err[512];
	int r = alloc_repair_now(&c->cfg, c->db, err, sizeof(err));
	if (r < 0) {
		log_msg(LOG_ERR, NULL, "repair failed: %s", err);
		return 1;
	}
	if (r > 0)
		log_msg(LOG_NOTICE, NULL, "repair removed %d home(s) left by crashed allocations",
			r);
	printf("%d\n", r);
	return 0;
}

static int report_reap(const char *name, int r, const struct reap_result *res, const char *err)
{
	if (r < 0) {
		log_msg(LOG_ERR, name, "reap: %s", err);
		return 1;
	}
	if (res->already)
		log_msg(LOG_INFO, name, "already reaped");
	else
		log_msg(LOG_NOTICE, name, "reaped: %llu files, %llu bytes freed in %lld ms",
			(unsigned long long)res->files, (unsigned long long)res->bytes,
			(long long)res->millis);
	return 0;
}

struct reap_all {
	struct ctl *c;
	char (*names)[33];
	size_t n;
};

static int collect_name(const struct db_session *s, void *userdata)
{
	struct reap_all *a = userdata;
	void *p = realloc(a->names, (a->n + 1) * sizeof(*a->names));
	if (!p)
		return -ENOMEM;
	a->names = p;
	snprintf(a->names[a->n++], sizeof(a->names[0]), "%s", s->name);
	return 0;
}

/* Closes a live session and reaps it at once (REAP_FORCE): kill, and a
 * session past its lifetime. */
static int kill_and_reap(struct ctl *c, const char *name, const char *why)
{
	int r = db_session_close(c->db, name);
	if (r < 0 && r != -ESTALE) {
		log_msg(LOG_ERR, name, "kill: %s",
			r == -ENOENT ? "no such session" : db_errmsg(c->db));
		return 1;
	}
	log_msg(LOG_NOTICE, name, "%s", why);
	struct reap_result res;
	char err[512];
	r = reaper_reap(&c->cfg, c->db, name, REAP_FORCE, &res, err, sizeof(err));
	return report_reap(name, r, &res, err);
}

/* Lifetimes (lifetime.h): every running session is judged; one past its
 * max_lifetime or idle_timeout is ended and reaped, one close to it warned. */
static int expire_all(struct ctl *c)
{
	struct reap_all a = {c, NULL, 0};
	const enum session_state running = SESSION_ACTIVE;
	if (db_each_session(c->db, &running, collect_name, &a) < 0) {
		log_msg(LOG_ERR, NULL, "lifetimes: %s", db_errmsg(c->db));
		free(a.names);
		return 1;
	}
	int failed = 0;
	for (size_t i = 0; i < a.n; i++) {
		struct lifetime_verdict v;
		char err[512], why[300];
		if (lifetime_judge(&c->cfg, c->db, a.names[i], (int64_t)time(NULL), &v, err,
				   sizeof(err)) < 0) {
			log_msg(LOG_WARNING, a.names[i], "lifetimes: %s", err);
			continue;
		}
		if (v.action == LIFETIME_WARNED)
			log_msg(LOG_NOTICE, a.names[i], "warned: %s", v.detail);
		if (v.action != LIFETIME_OVER)
			continue;
		(void)db_event_add(c->db, a.names[i], "expired", v.detail);
		snprintf(why, sizeof(why), "ended by its %s: %s", v.reason, v.detail);
		failed |= kill_and_reap(c, a.names[i], why);
	}
	free(a.names);
	return failed;
}

/* --all: lifetimes first, then every session not yet reaped whose login is
 * over; a running one, or one another reaper holds, is left for the next run. */
static int reap_all(struct ctl *c)
{
	int failed = expire_all(c);
	struct reap_all a = {c, NULL, 0};
	int r = db_each_reapable(c->db, collect_name, &a);
	if (r < 0) {
		log_msg(LOG_ERR, NULL, "reap --all: %s", db_errmsg(c->db));
		free(a.names);
		return 1;
	}
	for (size_t i = 0; i < a.n; i++) {
		struct reap_result res;
		char err[512];
		r = reaper_reap(&c->cfg, c->db, a.names[i], REAP_IF_OVER, &res, err, sizeof(err));
		if (r == -EINPROGRESS || r == -EALREADY)
			continue; /* running, or in another reaper's hands */
		failed |= report_reap(a.names[i], r, &res, err);
	}
	free(a.names);
	unsigned released, deleted;
	char err[512];
	if (reaper_gc(&c->cfg, c->db, 0, &released, &deleted, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, NULL, "gc: %s", err);
		failed = 1;
	}
	return failed;
}

static int cmd_reap(struct ctl *c, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--all") == 0)
		return reap_all(c);
	bool wait = argc == 3 && strcmp(argv[1], "--wait") == 0;
	if (wait) {
		argc--;
		argv++;
	}
	if (argc != 2 || argv[1][0] == '-')
		return usage_error("reap needs NAME, --wait NAME or --all");
	if (wait && reaper_wait_over(&c->cfg, c->db, argv[1]) == -ETIMEDOUT) {
		log_msg(LOG_INFO, argv[1], "still running after the wait: left to a later reap");
		return 0;
	}
	struct reap_result res;
	char err[512];
	int r = reaper_reap(&c->cfg, c->db, argv[1], REAP_IF_OVER, &res, err, sizeof(err));
	if (r == -EALREADY) { /* e.g. after ephemeractl kill: the other reaper does it */
		log_msg(LOG_NOTICE, argv[1], "being reaped by another reaper");
		return 0;
	}
	return report_reap(argv[1], r, &res, err);
}

static int cmd_kill(struct ctl *c, int argc, char **argv)
{
	if (argc != 2)
		return usage_error("kill needs exactly one NAME");
	return kill_and_reap(c, argv[1], "killed by the administrator");
}

static int cmd_gc(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"older-than", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0},
	};
	uint32_t days = c->cfg.output_retention_days;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o != 'o' || parse_u32(optarg, 1, 36500, &days) < 0)
			return usage_error(
			    "gc: --older-than takes a number of days from 1 to 36500");
	}
	if (optind != argc)
		return usage_error("gc: unexpected argument '%s'", argv[optind]);
	unsigned released, deleted;
	char err[512];
	if (reaper_gc(&c->cfg, c->db, days, &released, &deleted, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, NULL, "gc: %s", err);
		return 1;
	}
	printf("released %u lease(s), deleted %u output(s)\n", released, deleted);
	return 0;
}

/* doctor and setup-gateway load the config themselves and need no open
 * database: a broken config or database is what doctor reports. */
static int cmd_doctor(struct ctl *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage_error("doctor takes no arguments");
	int r = doctor_run(c->conf_path, stdout);
	if (r < 0)
		log_msg(LOG_ERR, NULL, "doctor: %s", strerror(-r));
	return r == 0 ? 0 : 1;
}

static void log_change(int prio, const char *msg)
{
	log_msg(prio, NULL, "%s", msg);
}

static int cmd_setup_gateway(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"remove", no_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	bool undo = false;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o != 'r')
			return usage_error("setup-gateway: bad option");
		undo = true;
	}
	if (optind + 1 != argc)
		return usage_error("setup-gateway needs exactly one USER");
	const char *user = argv[optind];
	char err[512];
	int r = undo ? gateway_remove(c->conf_path, user, log_change, err, sizeof(err))
		       : gateway_setup(c->conf_path, user, log_change, err, sizeof(err));
	if (r < 0) {
		log_msg(LOG_ERR, NULL, "setup-gateway: %s", err);
		return 1;
	}
	if (r == 0)
		printf("%s: nothing to change\n", user);
	return 0;
}

static const struct command {
	const char *name;
	int (*run)(struct ctl *c, int argc, char **argv);
} commands[] = {
    {"alloc", cmd_alloc},   {"list", cmd_list}, {"show", cmd_show}, {"release", cmd_release},
    {"repair", cmd_repair}, {"reap", cmd_reap}, {"kill", cmd_kill}, {"gc", cmd_gc},
    {"doctor", cmd_doctor}, {"setup-gateway", cmd_setup_gateway},
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *conf = getenv("EPHEMERA_CONF");
	int o;
	log_open("ephemeractl", true);
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': conf = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("ephemeractl %s\n", EPHEMERA_VERSION); return 0;
		default: return usage_error("bad option");
		}
	}
	if (optind >= argc)
		return usage_error("missing COMMAND");
	const struct command *cmd = NULL;
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd)
		return usage_error("unknown command '%s'", argv[optind]);
	if (getuid() != 0 || geteuid() != 0) {
		/* To syslog too: a detached reaper has no stderr anyone reads. */
		log_msg(LOG_ERR, NULL, "must be run as root (uid %u)", (unsigned)getuid());
		return 1;
	}

	struct ctl c = {0};
	char err[512];
	const char *path = config_path_for_caller(conf);
	if (cmd->run == cmd_doctor || cmd->run == cmd_setup_gateway) {
		int n = optind;
		c.conf_path = path;
		optind = 0; /* as below: getopt starts over on the command's argv */
		return cmd->run(&c, argc - n, argv + n);
	}
	if (config_load(path, &c.cfg, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, NULL, "config: %s", err);
		return 1;
	}
	if (db_open(c.cfg.database, &c.db, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, NULL, "database %s", err);
		config_free(&c.cfg);
		return 1;
	}
	/* Each command parses its own options from its own argv. */
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	optind = 0; /* 0, not 1: GNU getopt then starts over on the new argv */
	int rc = cmd->run(&c, sub_argc, sub_argv);
	db_close(c.db);
	config_free(&c.cfg);
	return rc;
}
