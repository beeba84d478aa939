/* Internal to the http module: the thread that accepts connections and sniffs their first
 * bytes before libmicrohttpd gets them. */
#ifndef WHARF_HTTP_ACCEPTOR_H
#define WHARF_HTTP_ACCEPTOR_H

#include <microhttpd.h>

#include "wharf/util.h"

struct wharf_acceptor;
/* listen_fd: a listening, non-blocking socket the caller keeps. daemon: started with
 * MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC, and with MHD_USE_TLS when tls is set: then TLS
 * ClientHellos go to it and plain HTTP requests get a plain-HTTP 400 instead. */
int wharf_acceptor_start(struct wharf_acceptor **out, int listen_fd, struct MHD_Daemon *daemon, bool tls,
			 struct wharf_error *err);
void wharf_acceptor_stop(struct wharf_acceptor *a);

#endif
