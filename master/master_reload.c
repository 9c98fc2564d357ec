/*
 * master_reload - SIGHUP: apply a new main.cf and master.cf
 *
 * SYNOPSIS
 *	#include "master.h"
 *
 *	void master_reload(void)
 *
 * DESCRIPTION
 *	Both files are read into new structures first.  If either does not
 *	load, the reload is refused and logged, and nothing changes.
 *	Otherwise each running service is matched by name and type with
 *	the new master.cf:
 *
 *	- same entry text and same listen key (master_listen_key(): the
 *	  addresses or socket path it resolves to under the new main.cf):
 *	  the service keeps its listeners, so not one connection is
 *	  refused; its processes get SIGHUP and exit once idle, and stop
 *	  counting against maxproc, so that new processes start with the
 *	  new configuration;
 *	- changed: the old service is stopped (SIGTERM to its processes)
 *	  and a new one started.  When only the command changed (same
 *	  listen key) the new service takes over the old sockets rather
 *	  than closing and binding again, so that a port is never closed
 *	  during a reload and no bind races an old child still holding it;
 *	- gone from master.cf: stopped, its socket file removed;
 *	- new in master.cf: started.
 *
 *	main.cf settings (default_process_limit, daemon_directory,
 *	maillog_file, ...) apply to every service at once; the collector
 *	reopens maillog_file, which also serves log rotation.
 *
 * DIAGNOSTICS
 *	"reload -- version V, configuration DIR" on success; an error when
 *	the files do not load or a new service cannot listen (the others
 *	still run).
 */
#include "autoconf.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "maillog.h"
#include "master.h"
#include "mastercf.h"

/* start_new - create and start a service for an entry */
static void start_new(const struct mastercf *mcf,
		      const struct mastercf_entry *e,
		      struct master_service *replaced)
{
	struct master_service *serv;
	const char *error;

	if ((serv = master_service_create(e, master.cfg, &error)) == NULL) {
		log_error("%s:%d: service %s: %s", mcf->filename, e->line,
			  e->name, error);
		return;
	}
	if (replaced != NULL)
		master_listen_move(replaced, serv);
	serv->next = master.services;
	master.services = serv;
	if (master_service_start(serv, &error) < 0) {
		log_error("service %s: %s", serv->name, error);
		master_service_retire(serv);
	}
}

/* keep_service - unchanged entry: new settings, fresh processes */
static void keep_service(struct master_service *serv)
{
	master_service_settings(serv, master.cfg);
	for (struct master_proc *p = serv->procs; p != NULL; p = p->next) {
		if (p->draining)
			continue;
		p->draining = true;
		serv->proc_count--;
		if (p->avail) {
			p->avail = false;
			serv->avail_count--;
		}
	}
	master_signal_procs(serv, SIGHUP);
	/* A new configuration deserves a fresh chance. */
	serv->throttle_delay = 0;
	master_avail_update(serv);
}

/* reload_logger - follow maillog_file */
static void reload_logger(void)
{
	const char *file = config_str(master.cfg, "maillog_file");
	const char *error;

	if (file[0] == '\0') {
		/* Children hold fd 4 already: keep collecting until restart. */
		if (master.log_pair[0] >= 0)
			log_warn("maillog_file is now empty: still writing %s "
				 "until master restarts",
				 master.log_path);
		return;
	}
	if (master.log_pair[0] >= 0) {
		if (master_logger_reopen(file, &error) < 0)
			log_error("%s", error);
	} else if (master_logger_init(file, &error) < 0) {
		log_error("%s", error);
	}
}

/* master_reload - SIGHUP */
void master_reload(void)
{
	struct config *cfg = config_create(master.config_dir);
	struct master_service *old, *next;
	struct mastercf *mcf;
	const char *error;
	char *path;
	bool *matched;

	if (config_load(cfg, &error) < 0) {
		log_error("reload refused, configuration unchanged: %s", error);
		config_free(&cfg);
		return;
	}
	path = xasprintf("%s/master.cf", master.config_dir);
	mcf = mastercf_load(path, &error);
	free(path);
	if (mcf == NULL) {
		log_error("reload refused, configuration unchanged: %s", error);
		config_free(&cfg);
		return;
	}

	/* From here on the new main.cf applies to everything. */
	config_free(&master.cfg);
	master.cfg = cfg;
	if (maillog_setup(cfg, master.foreground, &error) < 0)
		log_error("%s", error);
	reload_logger();

	matched = xcalloc(mcf->count, sizeof(*matched));
	for (old = master.services; old != NULL; old = next) {
		const struct mastercf_entry *e;
		char *key;

		next = old->next;
		e = mastercf_find(mcf, old->name, old->type);
		if (e == NULL) {
			master_service_retire(old);
			continue;
		}
		matched[e - mcf->entries] = true;
		key = master_listen_key(e, cfg);
		if (strcmp(key, old->listen_key) != 0) {
			master_service_retire(old);
			start_new(mcf, e, NULL);
		} else if (strcmp(e->text, old->text) != 0) {
			start_new(mcf, e, old);
			master_service_retire(old);
		} else {
			keep_service(old);
		}
		free(key);
	}
	for (size_t i = 0; i < mcf->count; i++)
		if (!matched[i])
			start_new(mcf, &mcf->entries[i], NULL);
	free(matched);
	mastercf_free(&mcf);
	/* Logged last: when this line is there, the new services listen. */
	log_info("reload -- version %s, configuration %s", PACKAGE_VERSION,
		 master.config_dir);
}
