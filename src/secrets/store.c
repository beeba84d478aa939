/* Opening and creating a secret store: $WHARF_HOME/secrets (0700) and its master key. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "internal.h"

static char *store_dir(const char *home)
{
	return wharf_xasprintf("%s/secrets", home);
}

bool wharf_secrets_uses_pkcs11(const char *home)
{
	_cleanup_free_ char *p = wharf_xasprintf("%s/secrets/master.key.p11", home);
	return access(p, F_OK) == 0;
}

bool wharf_secrets_exists(const char *home)
{
	_cleanup_free_ char *p = wharf_xasprintf("%s/secrets/master.key", home);
	return access(p, F_OK) == 0 || wharf_secrets_uses_pkcs11(home);
}

/* Serialise writers of one store: an exclusive flock on secrets/.lock, released on close. */
static int lock_dir(const char *dir, int *out, struct wharf_error *err)
{
	_cleanup_free_ char *path = wharf_xasprintf("%s/.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return wharf_error_sys(err, "cannot open %s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = wharf_error_sys(err, "cannot lock %s", path);
			close(fd);
			return r;
		}
	}
	*out = fd;
	return 0;
}

int wharf_secrets_init(const char *home, const struct wharf_secrets_init_opts *opts, struct wharf_error *err)
{
	_cleanup_free_ char *dir = store_dir(home);
	int r = wharf_mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	if (chmod(dir, 0700) < 0)
		return wharf_error_sys(err, "cannot chmod 0700 %s", dir);
	_cleanup_close_ int lock = -1;
	if ((r = lock_dir(dir, &lock, err)) < 0)
		return r;
	if (wharf_secrets_exists(home))
		return wharf_error_set(err, WHARF_EEXIST, "%s already has a master key", dir);
	unsigned char key[MASTER_KEY_LEN];
	r = secrets_master_create(dir, opts, key, err);
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

/* Refuse a store directory others may enter: its file names are secret names. */
static int check_dir(const char *dir, int fd, struct wharf_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return wharf_error_sys(err, "cannot stat %s", dir);
	if (st.st_mode & 077)
		return wharf_error_set(err, WHARF_EINVAL,
				       "%s has mode %04o: the secret store must be private to its owner (chmod 700 %s)",
				       dir, (unsigned)(st.st_mode & 07777), dir);
	if (st.st_uid != geteuid())
		return wharf_error_set(err, WHARF_EINVAL, "%s belongs to uid %u, not to this user (uid %u)", dir,
				       (unsigned)st.st_uid, (unsigned)geteuid());
	return 0;
}

int wharf_secrets_open_pin(struct wharf_secrets **out, const char *home, const char *pin, struct wharf_error *err)
{
	if (!pin)
		pin = getenv("WHARF_PKCS11_PIN");
	_cleanup_free_ char *dir = store_dir(home);
	if (!wharf_secrets_exists(home))
		return wharf_error_set(err, WHARF_ENOTFOUND,
				       "no secret store in %s (create a secret, or run 'wharf secret init')", dir);
	struct wharf_secrets *s = wharf_xcalloc(1, sizeof(*s));
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = s->dirfd < 0 ? wharf_error_sys(err, "cannot open %s", dir) : check_dir(dir, s->dirfd, err);
	if (r == 0)
		r = secrets_master_load(dir, pin, s->key, err);
	if (r < 0) {
		wharf_secrets_close(s);
		return r;
	}
	s->dir = steal_pointer(&dir);
	*out = s;
	return 0;
}

int wharf_secrets_open(struct wharf_secrets **out, const char *home, struct wharf_error *err)
{
	return wharf_secrets_open_pin(out, home, NULL, err);
}

void wharf_secrets_close(struct wharf_secrets *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s->key, sizeof(s->key));
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->dir);
	free(s);
}

int secrets_lock(struct wharf_secrets *s, int *fd, struct wharf_error *err)
{
	return lock_dir(s->dir, fd, err);
}
