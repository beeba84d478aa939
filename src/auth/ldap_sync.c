/* Scheduled directory sync: every auth.ldap_sync_interval, each LDAP user is looked up again
 * (without a password); one the directory removed or disabled is disabled here (tokens it holds
 * run out within their short lifetime, refresh tokens die at once), and the others get the teams
 * their current groups map to. An unreachable directory changes nothing. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static void sync_user(struct wharf_auth *a, const struct wharf_ldap_config *ldap, const char *name)
{
	struct wharf_ldap_user lu = {0};
	struct wharf_error err;
	int r = wharf_ldap_lookup(ldap, name, &lu, &err);
	if (r == -WHARF_EIO || r == -WHARF_EUNSUPPORTED) {
		wharf_log(WHARF_LOG_WARN, "auth: ldap sync of %s skipped: %s", name, err.message);
	} else if (r < 0 || lu.disabled) {
		if (model_user_disable(a->model, name, true, &err) == 0)
			wharf_log(WHARF_LOG_INFO, "auth: ldap sync: %s is %s in the directory: disabled", name,
				  r < 0 ? "gone" : "disabled");
		auth_audit(a, json_pack("{s:s,s:s,s:s}", "type", "ldap_sync", "user", name, "result", "disabled"));
	} else {
		struct wharf_strv teams = {0};
		wharf_ldap_map_teams(ldap, &lu, &teams);
		if (model_ldap_sync(a->model, name, &teams, &err) < 0)
			wharf_log(WHARF_LOG_WARN, "auth: ldap sync of %s: %s", name, err.message);
		wharf_strv_free(&teams);
	}
	wharf_ldap_user_free(&lu);
}

void auth_ldap_sync_once(struct wharf_auth *a)
{
	const struct wharf_ldap_config *ldap = wharf_authx_ldap(a->x);
	if (!ldap)
		return;
	struct wharf_strv users = {0};
	model_ldap_users(a->model, &users);
	for (size_t i = 0; i < users.n; i++)
		sync_user(a, ldap, users.v[i]);
	wharf_strv_free(&users);
}

static void *sync_thread(void *arg)
{
	struct wharf_auth *a = arg;
	pthread_mutex_lock(&a->stop_lock);
	while (!a->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += a->cfg.ldap_sync_interval;
		while (!a->stopping && pthread_cond_timedwait(&a->stop_cond, &a->stop_lock, &until) != ETIMEDOUT)
			;
		if (a->stopping)
			break;
		pthread_mutex_unlock(&a->stop_lock);
		auth_ldap_sync_once(a);
		pthread_mutex_lock(&a->stop_lock);
	}
	pthread_mutex_unlock(&a->stop_lock);
	return NULL;
}

void auth_ldap_sync_start(struct wharf_auth *a)
{
	pthread_mutex_init(&a->stop_lock, NULL);
	pthread_cond_init(&a->stop_cond, NULL);
	a->sync_ready = true;
	if (!wharf_authx_ldap(a->x) || a->cfg.ldap_sync_interval <= 0)
		return;
	a->sync_started = pthread_create(&a->sync, NULL, sync_thread, a) == 0;
}

void auth_ldap_sync_stop(struct wharf_auth *a)
{
	if (!a->sync_ready)
		return;
	if (a->sync_started) {
		pthread_mutex_lock(&a->stop_lock);
		a->stopping = true;
		pthread_cond_broadcast(&a->stop_cond);
		pthread_mutex_unlock(&a->stop_lock);
		pthread_join(a->sync, NULL);
	}
	pthread_cond_destroy(&a->stop_cond);
	pthread_mutex_destroy(&a->stop_lock);
}
