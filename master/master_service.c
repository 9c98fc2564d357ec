/*
 * master_service - the running services and when to start processes
 *
 * SYNOPSIS
 *	#include "master.h"
 *
 *	struct master_service *master_service_create(entry, cfg, error_r)
 *	int master_service_start(serv, error_r)
 *	void master_service_settings(serv, cfg)
 *	void master_service_retire(serv)
 *	void master_avail_update(serv)
 *
 * DESCRIPTION
 *	A service is created from its master.cf entry (master_service_create
 *	copies what it needs, so the parsed file can go), then started:
 *	status pipe, listeners (unless a reload handed it the old ones),
 *	wakeup timer.
 *
 *	master_avail_update() is the demand logic.  master watches a
 *	service's listeners only while a connection there would need a new
 *	process: no process of the service is available, the process limit
 *	is not reached and the service is not throttled.  A pending
 *	connection then makes the listener readable and master spawns one
 *	process, which counts as available until it reports otherwise, so
 *	master stops watching at once: one connection never starts two
 *	processes, and a full service never makes master spin on a readable
 *	socket it will not serve.
 *
 *	A retired service (removed or replaced by a reload, or master is
 *	stopping) has no listeners and no timers; it stays on master.retired
 *	until its last child is reaped, because the children still write
 *	on its status pipe.
 *
 * DIAGNOSTICS
 *	master_service_create() and _start() return -1 with a message.
 */
#include "autoconf.h"

#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "master.h"

/* resolve_path - a bare command lives in daemon_directory */
static char *resolve_path(const char *command, const struct config *cfg)
{
	if (strchr(command, '/') != NULL)
		return xstrdup(command);
	return xasprintf("%s/%s", config_str(cfg, "daemon_directory"), command);
}

/* master_service_settings - what depends on main.cf, not master.cf */
void master_service_settings(struct master_service *serv,
			     const struct config *cfg)
{
	free(serv->path);
	serv->path = resolve_path(serv->argv[0], cfg);
	serv->maxproc = serv->maxproc_cf < 0
				? (int)config_int(cfg, "default_process_limit")
				: serv->maxproc_cf;
}

/* master_service_create - a service from its master.cf entry */
struct master_service *master_service_create(const struct mastercf_entry *e,
					     const struct config *cfg,
					     const char **error_r)
{
	struct master_service *serv;

	if (e->type == MASTERCF_PASS) {
		*error_r = "service type pass is not supported";
		return NULL;
	}
	if (e->argc == 0) {
		*error_r = "no command";
		return NULL;
	}
	serv = xcalloc(1, sizeof(*serv));
	serv->name = xstrdup(e->name);
	serv->type = e->type;
	serv->private_ = e->private_;
	serv->unpriv = e->unpriv;
	serv->wakeup = e->wakeup;
	serv->wakeup_if_used = e->wakeup_if_used;
	serv->maxproc_cf = e->maxproc;
	serv->argc = e->argc;
	serv->argv = xcalloc(e->argc + 1, sizeof(*serv->argv));
	for (size_t i = 0; i < e->argc; i++)
		serv->argv[i] = xstrdup(e->argv[i]);
	serv->text = xstrdup(e->text);
	serv->listen_key = master_listen_key(e, cfg);
	serv->status_pipe[0] = serv->status_pipe[1] = -1;
	master_service_settings(serv, cfg);
	if (e->chroot)
		log_warn("service %s: chroot is not supported yet: the "
			 "service runs without it",
			 serv->name);
	if (serv->type == MASTERCF_INET && serv->wakeup > 0)
		log_warn("service %s: wakeup is ignored for inet services",
			 serv->name);
	return serv;
}

/* master_service_start - pipe, sockets, timers; then wait for demand */
int master_service_start(struct master_service *serv, const char **error_r)
{
	if (master_status_init(serv, error_r) < 0)
		return -1;
	if (serv->nlisteners == 0 &&
	    master_listen_open(serv, master.cfg, error_r) < 0)
		return -1;
	master_wakeup_init(serv);
	master_avail_update(serv);
	if (master.verbose)
		log_debug("service %s (%s): %zu listener(s), maxproc %d",
			  serv->name, mastercf_type_name(serv->type),
			  serv->nlisteners, serv->maxproc);
	return 0;
}

/* master_avail_update - watch the listeners exactly when we may spawn */
void master_avail_update(struct master_service *serv)
{
	bool want = !serv->retired && !master.stopping && !serv->throttled &&
		    serv->avail_count == 0 &&
		    (serv->maxproc == 0 ||
		     serv->proc_count < (unsigned)serv->maxproc);

	if (want == serv->listening)
		return;
	for (size_t i = 0; i < serv->nlisteners; i++) {
		if (want)
			event_add(serv->listeners[i].ev, NULL);
		else
			event_del(serv->listeners[i].ev);
	}
	serv->listening = want;
}

/* master_service_retire - stop a service; free it once its kids are gone */
void master_service_retire(struct master_service *serv)
{
	struct master_service **pp;

	for (pp = &master.services; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == serv) {
			*pp = serv->next;
			break;
		}
	}
	serv->retired = true;
	master_avail_update(serv);
	master_wakeup_cancel(serv);
	if (serv->throttle_timer != NULL)
		evtimer_del(serv->throttle_timer);
	/* A no-op when a replacement took the sockets over. */
	master_listen_close(serv, true);
	master_signal_procs(serv, SIGTERM);
	serv->next = master.retired;
	master.retired = serv;
	master_service_reap_retired();
}

/* master_service_reap_retired - free retired services without kids */
void master_service_reap_retired(void)
{
	struct master_service **pp = &master.retired;

	while (*pp != NULL) {
		struct master_service *serv = *pp;

		if (serv->total == 0) {
			*pp = serv->next;
			master_service_free(serv);
		} else {
			pp = &serv->next;
		}
	}
}

/* master_service_free - release a service that has no children left */
void master_service_free(struct master_service *serv)
{
	if (serv->total != 0)
		log_panic("service %s freed with %u children", serv->name,
			  serv->total);
	master_listen_close(serv, true);
	master_wakeup_cancel(serv);
	master_status_close(serv);
	if (serv->throttle_timer != NULL)
		event_free(serv->throttle_timer);
	for (size_t i = 0; i < serv->argc; i++)
		free(serv->argv[i]);
	free(serv->argv);
	free(serv->name);
	free(serv->text);
	free(serv->path);
	free(serv->listen_key);
	free(serv);
}

/* master_proc_find - the child with this pid, in any service */
struct master_proc *master_proc_find(pid_t pid)
{
	struct master_service *lists[2] = {master.services, master.retired};

	for (size_t i = 0; i < 2; i++)
		for (struct master_service *s = lists[i]; s; s = s->next)
			for (struct master_proc *p = s->procs; p; p = p->next)
				if (p->pid == pid)
					return p;
	return NULL;
}
