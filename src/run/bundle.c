/* The OCI runtime config.json of a container: user, mount, pid, ipc, uts and network namespaces,
 * no capabilities unless granted, no_new_privs, Docker's masked and read-only /proc paths, the
 * default seccomp allowlist, the image's process settings, /dev/shm and /run/secrets. */
#include <jansson.h>
#include <string.h>

#include "wharf/run.h"

static const char *const known_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
	"CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
	"CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

bool wharf_cap_valid(const char *name, char **canon)
{
	_cleanup_free_ char *up = wharf_xasprintf("%s%s", strncasecmp(name, "CAP_", 4) ? "CAP_" : "", name);
	for (char *p = up; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	for (size_t i = 0; i < sizeof(known_caps) / sizeof(known_caps[0]); i++)
		if (!strcmp(known_caps[i], up)) {
			*canon = steal_pointer(&up);
			return true;
		}
	return false;
}

static json_t *strv_json(const struct wharf_strv *sv)
{
	json_t *a = json_array();
	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static void add_mount(json_t *mounts, const char *dst, const char *type, const char *src, const char *opts_csv)
{
	json_t *opts = json_array();
	_cleanup_free_ char *copy = wharf_xstrdup(opts_csv);
	for (char *save = NULL, *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
		json_array_append_new(opts, json_string(o));
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", type, "source", src,
						"options", opts));
}

static json_t *mounts_json(const struct wharf_run_spec *s)
{
	json_t *m = json_array();
	add_mount(m, "/proc", "proc", "proc", "nosuid,noexec,nodev");
	add_mount(m, "/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k");
	add_mount(m, "/dev/pts", "devpts", "devpts", "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620");
	add_mount(m, "/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k");
	add_mount(m, "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev");
	/* sysfs cannot be mounted in a user namespace without its own network namespace */
	if (s->userns && s->net_host)
		add_mount(m, "/sys", "none", "/sys", "rbind,nosuid,noexec,nodev,ro");
	else
		add_mount(m, "/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro");
	for (size_t i = 0; i < s->n_mounts; i++) {
		_cleanup_free_ char *o = wharf_xasprintf("rbind,nosuid,nodev%s", s->mounts[i].readonly ? ",ro" : "");
		add_mount(m, s->mounts[i].destination, "none", s->mounts[i].source, o);
	}
	if (s->secrets_dir)
		add_mount(m, "/run/secrets", "none", s->secrets_dir, "bind,ro,nosuid,nodev,noexec");
	return m;
}

static json_t *process_json(const struct wharf_run_spec *s)
{
	json_t *caps = strv_json(&s->caps);
	json_t *capset = json_pack("{s:O, s:O, s:O, s:o}", "bounding", caps, "effective", caps, "permitted", caps,
				   "inheritable", json_array());
	json_t *ambient = json_array();
	if (s->uid != 0) /* a non-root user keeps granted capabilities only as ambient ones */
		json_array_extend(ambient, caps);
	json_object_set_new(capset, "ambient", ambient);
	json_decref(caps);
	return json_pack("{s:b, s:{s:I, s:I}, s:o, s:o, s:s, s:o, s:b, s:[{s:s, s:I, s:I}]}", "terminal", s->terminal,
			 "user", "uid", (json_int_t)s->uid, "gid", (json_int_t)s->gid, "args", strv_json(&s->args), "env",
			 strv_json(&s->env), "cwd", s->cwd && *s->cwd ? s->cwd : "/", "capabilities", capset,
			 "noNewPrivileges", 1, "rlimits", "type", "RLIMIT_NOFILE", "hard", (json_int_t)1024,
			 "soft", (json_int_t)1024);
}

static json_t *linux_json(const struct wharf_run_spec *s)
{
	json_t *ns = json_array();
	const char *types[] = {"pid", "ipc", "uts", "mount", "network", "user"};
	for (size_t i = 0; i < 6; i++) {
		if ((!strcmp(types[i], "network") && s->net_host) || (!strcmp(types[i], "user") && !s->userns))
			continue;
		json_array_append_new(ns, json_pack("{s:s}", "type", types[i]));
	}
	_cleanup_free_ char *sc = wharf_seccomp_default_json();
	json_t *l = json_pack("{s:o, s:o, s:[s,s,s,s,s,s,s,s,s,s,s,s], s:[s,s,s,s,s,s]}", "namespaces", ns, "seccomp",
			      json_loads(sc, 0, NULL), "maskedPaths", "/proc/asound", "/proc/acpi", "/proc/kcore",
			      "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
			      "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
			      "/proc/interrupts", "readonlyPaths", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
			      "/proc/sysrq-trigger", "/proc/sys/kernel");
	if (s->userns) {
		json_t *map = json_pack("[{s:i, s:I, s:I}]", "containerID", 0, "hostID", (json_int_t)s->uid_base, "size",
					(json_int_t)s->uid_size);
		json_object_set(l, "uidMappings", map);
		json_object_set_new(l, "gidMappings", map);
	}
	return l;
}

char *wharf_bundle_config(const struct wharf_run_spec *s)
{
	json_t *root = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.0.2", "process",
				 process_json(s), "root", "path", s->rootfs, "readonly", s->readonly_rootfs, "hostname",
				 s->hostname, "mounts", mounts_json(s), "linux", linux_json(s));
	char *out = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	return out;
}
