/*
 * trigger - wake a service over its unix socket
 *
 * The same request master's wakeup timer sends (docs/architecture.md): a
 * connection to QUEUE_DIRECTORY/<class>/<service> that carries one attr
 * frame with proto "wakeup/1" and is then closed.  smtpd and pickup wake
 * qmgr this way after they committed a file into incoming/, so mail moves
 * at once instead of at qmgr's next timer.
 */
#ifndef FACTEUR_TRIGGER_H
#define FACTEUR_TRIGGER_H

/*
 * trigger_wakeup - wake queue_dir/service_path ("public/qmgr").  Never
 * blocks for long (non-blocking connect; the frame is a few bytes).
 * Returns 0, or -1 with *error_r (static text): a service that is not
 * running is not an error the caller must act on (qmgr's timer and its
 * start-up scan find the file anyway), so callers usually just log it.
 */
int trigger_wakeup(const char *queue_dir, const char *service_path,
		   const char **error_r);

/*
 * trigger_stream_wakeup - the same wakeup over a kept connection: *fd is
 * -1 at first; the first call connects and sends a "wakeup-stream/1"
 * frame (itself a wakeup), later calls write one "W" byte (server.h).
 * A process that commits many files (smtpd) saves a connect, an accept
 * and a close per message.  A full socket buffer counts as success (the
 * service has wakeups to read already); a broken stream (the service
 * restarted) is reconnected once.  Returns as trigger_wakeup().
 */
int trigger_stream_wakeup(int *fd, const char *queue_dir,
			  const char *service_path, const char **error_r);

#endif
