/*
 * master.h - the supervisor's shared state
 *
 * One struct master_service per master.cf entry, each with its listening
 * sockets, its status pipe and its list of child processes.  The files of
 * master/ each handle one concern, as in Postfix's master/:
 *
 *	master.c		main(), start-up, -w/-t, SIGTERM
 *	master_service.c	service objects; when to watch the listeners
 *	master_listen.c		opening and closing the listening sockets
 *	master_spawn.c		fork+exec of a child, reaping, throttling
 *	master_status.c		status frames children write on fd 3
 *	master_wakeup.c		wakeup timers
 *	master_reload.c		SIGHUP
 *	master_logger.c		the maillog_file collector
 */
#ifndef FACTEUR_MASTER_H
#define FACTEUR_MASTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mastercf.h"

struct event;
struct event_base;
struct config;
struct attr_reader;

/* Descriptor numbers of the master/child contract (architecture.md). */
#define MASTER_STATUS_FD 3
#define MASTER_LOG_FD	 4
#define MASTER_LISTEN_FD 5

/* listen(2) backlog for every service socket. */
#define MASTER_BACKLOG 128
/* At most this many sockets per inet service (addresses x families). */
#define MASTER_LISTEN_MAX 32

struct master_service;

/* One child process. */
struct master_proc {
	pid_t pid;
	struct master_service *serv;
	bool avail;    /* counted in serv->avail_count */
	bool draining; /* told to exit after a reload: not counted */
	bool signaled; /* we sent it SIGTERM/SIGKILL: not a failure */
	struct master_proc *next;
};

struct master_listener {
	int fd;
	struct event *ev;
};

/* One master.cf entry, running. */
struct master_service {
	/* From master.cf (own copies: the parsed file is not kept). */
	char *name;
	enum mastercf_type type;
	bool private_;
	bool unpriv;
	int wakeup;
	bool wakeup_if_used;
	int maxproc_cf; /* as written: -1 means the default */
	char **argv;	/* command and args, NULL-terminated */
	size_t argc;
	char *text; /* entry text, to compare across reloads */

	/* Derived. */
	char *path;	  /* program to execute */
	int maxproc;	  /* 0: no limit */
	char *listen_key; /* what the listeners are, for reloads */
	char *sock_path;  /* unix/fifo: the file we created */

	struct master_listener *listeners;
	size_t nlisteners;
	bool listening; /* listener events are added */

	int status_pipe[2];
	struct event *status_ev;
	struct attr_reader *status_reader;

	struct master_proc *procs;
	unsigned total;	      /* every live child */
	unsigned proc_count;  /* children counted against maxproc */
	unsigned avail_count; /* children that take connections */
	bool used;	      /* a child was started: for "wakeup N?" */
	bool retired;	      /* removed or replaced; waits for its kids */

	unsigned throttle_delay; /* seconds; 0 when not failing */
	bool throttled;
	struct event *throttle_timer;
	struct event *wakeup_timer;

	struct master_service *next;
};

struct master {
	struct config *cfg;
	char *config_dir; /* absolute */
	struct event_base *base;
	struct master_service *services;
	struct master_service *retired;
	bool foreground;
	bool verbose;
	bool root;	   /* running as root (else unprivileged mode) */
	int devnull;	   /* children's 0, 1, 2 */
	bool child_stderr; /* children inherit our stderr */

	/* Collector (maillog_file set): master reads log_pair[0]. */
	int log_pair[2];
	int log_file_fd;
	char *log_path;
	struct event *log_ev;

	bool stopping;
	struct event *stop_timer;
};

extern struct master master;

/* master.c */
void master_stop(int sig);
void master_check_done(void);

/* master_service.c */
struct master_service *master_service_create(const struct mastercf_entry *e,
					     const struct config *cfg,
					     const char **error_r);
int master_service_start(struct master_service *serv, const char **error_r);
void master_service_settings(struct master_service *serv,
			     const struct config *cfg);
void master_service_retire(struct master_service *serv);
void master_service_free(struct master_service *serv);
void master_service_reap_retired(void);
void master_avail_update(struct master_service *serv);
struct master_proc *master_proc_find(pid_t pid);

/* master_listen.c */
char *master_listen_key(const struct mastercf_entry *e,
			const struct config *cfg);
int master_listen_open(struct master_service *serv, const struct config *cfg,
		       const char **error_r);
void master_listen_close(struct master_service *serv, bool unlink_path);
void master_listen_move(struct master_service *from, struct master_service *to);
char *master_socket_path(const struct mastercf_entry *e,
			 const struct config *cfg);

/* master_spawn.c */
void master_spawn(struct master_service *serv);
void master_reap(void);
void master_throttle(struct master_service *serv);
void master_signal_procs(struct master_service *serv, int sig);

/* master_status.c */
int master_status_init(struct master_service *serv, const char **error_r);
void master_status_close(struct master_service *serv);

/* master_wakeup.c */
void master_wakeup_init(struct master_service *serv);
void master_wakeup_cancel(struct master_service *serv);

/* master_reload.c */
void master_reload(void);

/* master_logger.c */
int master_logger_init(const char *path, const char **error_r);
int master_logger_reopen(const char *path, const char **error_r);
void master_logger_drain(void);
void master_logger_close(void);

#endif
