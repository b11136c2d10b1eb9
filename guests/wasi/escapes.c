/* escapes: every way out of a preopened directory we could think of, each printed
 * with the errno it got.  Reads, writes, creates, renames, links, symlinks, times,
 * through `..`, absolute paths, symlinks pointing out (relative, absolute, chains,
 * directories), a dangling symlink pointing out, and directory fds opened inside.
 *
 *   escapes OUTSIDE_ABS        (the host's absolute path of the outside directory)
 *
 * Needs "." preopened (fd 3) on the tree tests/wasi/tree.py builds, plus the extra
 * links of tests/wasi/test_differential_fs.py.  Most attempts call WASI directly
 * (so the errno is the host's own, untouched by libc); the "libc" section goes
 * through wasi-libc as a program would.  OUTSIDE_ABS never appears in the output
 * (it prints as <ABS>), so runs on different temp trees print the same bytes.  A
 * call that succeeds prints what it read; an escape would print the outside data.
 * Single-threaded.  Exit 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

#define ROOT 3
#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW
#define RD (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_FD_FILESTAT_GET)
#define WR (__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE)

static const char *abs_out; /* argv[1] */

static const char *errname(int e) {
    switch (e) {
    case 0: return "ok";
    case __WASI_ERRNO_ACCES: return "EACCES";
    case __WASI_ERRNO_BADF: return "EBADF";
    case __WASI_ERRNO_EXIST: return "EEXIST";
    case __WASI_ERRNO_INVAL: return "EINVAL";
    case __WASI_ERRNO_ISDIR: return "EISDIR";
    case __WASI_ERRNO_LOOP: return "ELOOP";
    case __WASI_ERRNO_NAMETOOLONG: return "ENAMETOOLONG";
    case __WASI_ERRNO_NOENT: return "ENOENT";
    case __WASI_ERRNO_NOTCAPABLE: return "ENOTCAPABLE";
    case __WASI_ERRNO_NOTDIR: return "ENOTDIR";
    case __WASI_ERRNO_NOTEMPTY: return "ENOTEMPTY";
    case __WASI_ERRNO_NOTSUP: return "ENOTSUP";
    case __WASI_ERRNO_PERM: return "EPERM";
    case __WASI_ERRNO_XDEV: return "EXDEV";
    default: return "E?";
    }
}

/* The label of a path: OUTSIDE_ABS replaced by <ABS>. */
static const char *label(const char *path) {
    static char buf[2][512];
    static int which;
    char *out = buf[which ^= 1];
    size_t n = strlen(abs_out);
    if (n && strncmp(path, abs_out, n) == 0)
        snprintf(out, 512, "<ABS>%s", path + n);
    else
        snprintf(out, 512, "%s", path);
    return out;
}

static char scratch[2][512];
static const char *abs_path(int slot, const char *rest) {
    snprintf(scratch[slot], sizeof scratch[slot], "%s%s", abs_out, rest);
    return scratch[slot];
}

static void result(const char *op, const char *a, const char *b, int e) {
    if (b)
        printf("%-13s %-32s %-20s -> %d %s\n", op, label(a), label(b), e, errname(e));
    else
        printf("%-13s %-53s -> %d %s\n", op, label(a), e, errname(e));
}

/* What an fd shows: a file's first bytes, or how many entries a directory has. */
static void show_fd(__wasi_fd_t fd) {
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get(fd, &st) != 0) return;
    if (st.fs_filetype == __WASI_FILETYPE_DIRECTORY) {
        uint8_t buf[4096];
        __wasi_size_t used = 0;
        __wasi_errno_t e = __wasi_fd_readdir(fd, buf, sizeof buf, 0, &used);
        /* count entries (their order is the host's) */
        int count = 0;
        for (size_t off = 0; e == 0 && off + sizeof(__wasi_dirent_t) <= used;) {
            __wasi_dirent_t d;
            memcpy(&d, buf + off, sizeof d);
            off += sizeof d + d.d_namlen;
            count++;
        }
        printf("              (a directory: readdir %s, %d entries)\n", errname(e), count);
        return;
    }
    char data[64] = {0};
    __wasi_iovec_t iov = {(uint8_t *)data, sizeof data - 1};
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_fd_read(fd, &iov, 1, &n);
    printf("              (read %s: \"%s\")\n", errname(e), e ? "" : data);
}

static void try_open(__wasi_fd_t dir, const char *path, __wasi_lookupflags_t look, __wasi_oflags_t of,
                     __wasi_rights_t rights, const char *op) {
    __wasi_fd_t fd = 0;
    __wasi_errno_t e = __wasi_path_open(dir, look, path, of, rights, RD | WR, 0, &fd);
    result(op, path, NULL, e);
    if (e == 0) {
        if (rights & __WASI_RIGHTS_FD_READ) show_fd(fd);
        (void)__wasi_fd_close(fd);
    }
}

static void try_read(__wasi_fd_t dir, const char *path) { try_open(dir, path, FOLLOW, 0, RD, "read"); }

static void try_stat(const char *path, __wasi_lookupflags_t look) {
    __wasi_filestat_t st;
    __wasi_errno_t e = __wasi_path_filestat_get(ROOT, look, path, &st);
    result(look ? "stat" : "lstat", path, NULL, e);
    if (e == 0) printf("              (filetype %d)\n", st.filetype);
}

static void try_readlink(const char *path) {
    char buf[512] = {0};
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_path_readlink(ROOT, path, (uint8_t *)buf, sizeof buf - 1, &n);
    result("readlink", path, NULL, e);
    if (e == 0) printf("              (target \"%s\")\n", label(buf));
}

static void section(const char *name) { printf("== %s\n", name); }

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("usage: escapes OUTSIDE_ABS\n", stderr);
        return 2;
    }
    abs_out = argv[1];
    __wasi_prestat_t pre;
    char name[16] = {0};
    if (__wasi_fd_prestat_get(ROOT, &pre) != 0 || pre.u.dir.pr_name_len >= sizeof name ||
        __wasi_fd_prestat_dir_name(ROOT, (uint8_t *)name, pre.u.dir.pr_name_len) != 0) {
        fputs("escapes: fd 3 is not a preopened directory\n", stderr);
        return 2;
    }
    printf("preopen fd 3 = \"%s\"\n", name);

    section("controls (inside: must work)");
    try_read(ROOT, "f");
    try_read(ROOT, "link_f");
    try_read(ROOT, "chain");
    try_read(ROOT, "sub/up/f");
    try_read(ROOT, "link_sub/g");
    try_read(ROOT, "sub/../f");
    try_read(ROOT, "hard_in");

    section("read through ..");
    try_read(ROOT, "..");
    try_read(ROOT, "../outside/secret");
    try_read(ROOT, "./../outside/secret");
    try_read(ROOT, "sub/../../outside/secret");
    try_read(ROOT, "sub/..//../outside/secret");
    try_read(ROOT, ".././outside/secret");
    try_read(ROOT, "sub/up/../outside/secret");
    try_read(ROOT, "sub/upup/outside/secret");
    try_read(ROOT, "sub/upup");
    try_read(ROOT, "link_sub/../../outside/secret");
    try_read(ROOT, "missing/../../outside/secret");
    try_read(ROOT, "f/../../outside/secret");

    section("read through absolute paths");
    try_read(ROOT, "/");
    try_read(ROOT, "//");
    try_read(ROOT, "/etc/passwd");
    try_read(ROOT, abs_path(0, "/secret"));
    try_read(ROOT, abs_path(0, "/../root/f"));

    section("read through symlinks pointing out");
    try_read(ROOT, "rel_out");
    try_read(ROOT, "rel_out_dir/secret");
    try_read(ROOT, "rel_out_dir");
    try_read(ROOT, "abs_out");
    try_read(ROOT, "abs_out_dir/secret");
    try_read(ROOT, "chain_out");
    try_read(ROOT, "chain_long");
    try_read(ROOT, "link_out/secret");
    try_read(ROOT, "link_out/odir/inner");
    try_read(ROOT, "link_out/../root/f");
    try_read(ROOT, "sub/deep_out");
    try_read(ROOT, "loop1");
    try_read(ROOT, "self");
    try_open(ROOT, "rel_out", 0, 0, RD, "read-nofollow");
    try_open(ROOT, "abs_out", 0, 0, RD, "read-nofollow");
    try_open(ROOT, "link_out", FOLLOW, __WASI_OFLAGS_DIRECTORY, RD, "opendir");
    try_open(ROOT, "abs_out_dir", FOLLOW, __WASI_OFLAGS_DIRECTORY, RD, "opendir");

    section("stat and readlink");
    try_stat("../outside/secret", FOLLOW);
    try_stat(abs_path(0, "/secret"), FOLLOW);
    try_stat("rel_out", FOLLOW);
    try_stat("abs_out", FOLLOW);
    try_stat("link_out/secret", FOLLOW);
    try_stat("rel_out", 0);
    try_stat("link_out/secret", 0);
    try_readlink("rel_out");
    try_readlink("abs_out");
    try_readlink("chain_long");
    try_readlink("../outside/secret");
    try_readlink("link_out/secret");

    section("a directory fd opened inside is its own capability");
    __wasi_fd_t sub = 0;
    __wasi_errno_t e = __wasi_path_open(ROOT, FOLLOW, "sub", __WASI_OFLAGS_DIRECTORY, RD, RD | WR, 0, &sub);
    result("opendir", "sub", NULL, e);
    if (e == 0) {
        try_read(sub, "g");
        try_read(sub, "../f");
        try_read(sub, "up/f");
        try_read(sub, "../../outside/secret");
        try_read(sub, "upup/outside/secret");
        (void)__wasi_fd_close(sub);
    }

    section("create and write");
    try_open(ROOT, "../outside/new", FOLLOW, __WASI_OFLAGS_CREAT, WR, "create");
    try_open(ROOT, "link_out/new", FOLLOW, __WASI_OFLAGS_CREAT, WR, "create");
    try_open(ROOT, "rel_out_dir/new", FOLLOW, __WASI_OFLAGS_CREAT, WR, "create");
    try_open(ROOT, "abs_out_dir/new", FOLLOW, __WASI_OFLAGS_CREAT, WR, "create");
    try_open(ROOT, "sub/upup/outside/new", FOLLOW, __WASI_OFLAGS_CREAT, WR, "create");
    try_open(ROOT, abs_path(0, "/new"), FOLLOW, __WASI_OFLAGS_CREAT, WR, "create");
    try_open(ROOT, "dangling_out", FOLLOW, __WASI_OFLAGS_CREAT, WR, "create");
    try_open(ROOT, "dangling_out", FOLLOW, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, WR, "create-excl");
    try_open(ROOT, "dangling_abs", FOLLOW, __WASI_OFLAGS_CREAT, WR, "create");
    try_open(ROOT, "rel_out", FOLLOW, __WASI_OFLAGS_TRUNC, WR, "truncate");
    try_open(ROOT, "abs_out", FOLLOW, __WASI_OFLAGS_TRUNC, WR, "truncate");
    try_open(ROOT, "chain_out", FOLLOW, 0, WR, "write");
    try_open(ROOT, "link_out/secret", FOLLOW, 0, WR, "write");
    try_open(ROOT, "../outside/secret", FOLLOW, __WASI_OFLAGS_TRUNC, WR, "truncate");

    section("directories");
    result("mkdir", "../outside/newdir", NULL, __wasi_path_create_directory(ROOT, "../outside/newdir"));
    result("mkdir", "link_out/newdir", NULL, __wasi_path_create_directory(ROOT, "link_out/newdir"));
    result("mkdir", "sub/upup/outside/newdir", NULL,
           __wasi_path_create_directory(ROOT, "sub/upup/outside/newdir"));
    result("mkdir", abs_path(0, "/newdir"), NULL, __wasi_path_create_directory(ROOT, abs_path(0, "/newdir")));
    result("mkdir", "dangling_out", NULL, __wasi_path_create_directory(ROOT, "dangling_out"));
    result("rmdir", "../outside/edir", NULL, __wasi_path_remove_directory(ROOT, "../outside/edir"));
    result("rmdir", "link_out/edir", NULL, __wasi_path_remove_directory(ROOT, "link_out/edir"));
    result("rmdir", "rel_out_dir/edir", NULL, __wasi_path_remove_directory(ROOT, "rel_out_dir/edir"));

    section("unlink");
    result("unlink", "../outside/secret", NULL, __wasi_path_unlink_file(ROOT, "../outside/secret"));
    result("unlink", "link_out/secret", NULL, __wasi_path_unlink_file(ROOT, "link_out/secret"));
    result("unlink", "rel_out_dir/secret", NULL, __wasi_path_unlink_file(ROOT, "rel_out_dir/secret"));
    result("unlink", "sub/upup/outside/secret", NULL, __wasi_path_unlink_file(ROOT, "sub/upup/outside/secret"));
    result("unlink", abs_path(0, "/secret"), NULL, __wasi_path_unlink_file(ROOT, abs_path(0, "/secret")));

    section("rename");
    result("rename", "f", "../outside/moved", __wasi_path_rename(ROOT, "f", ROOT, "../outside/moved"));
    result("rename", "../outside/secret", "stolen", __wasi_path_rename(ROOT, "../outside/secret", ROOT, "stolen"));
    result("rename", "f", "link_out/moved", __wasi_path_rename(ROOT, "f", ROOT, "link_out/moved"));
    result("rename", "link_out/secret", "stolen", __wasi_path_rename(ROOT, "link_out/secret", ROOT, "stolen"));
    result("rename", "rel_out_dir/odir", "stolen", __wasi_path_rename(ROOT, "rel_out_dir/odir", ROOT, "stolen"));
    result("rename", "sub", "../outside/sub", __wasi_path_rename(ROOT, "sub", ROOT, "../outside/sub"));
    result("rename", "f", abs_path(0, "/moved"), __wasi_path_rename(ROOT, "f", ROOT, abs_path(0, "/moved")));
    result("rename", "hard_in", "dangling_out/", __wasi_path_rename(ROOT, "hard_in", ROOT, "dangling_out/"));
    /* replaces the symlink itself (inside): allowed, and nothing is written outside */
    result("rename", "hard_in", "dangling_out", __wasi_path_rename(ROOT, "hard_in", ROOT, "dangling_out"));
    try_read(ROOT, "dangling_out");

    section("hard links");
    result("link", "f", "../outside/hl", __wasi_path_link(ROOT, 0, "f", ROOT, "../outside/hl"));
    result("link", "f", "link_out/hl", __wasi_path_link(ROOT, 0, "f", ROOT, "link_out/hl"));
    result("link", "../outside/secret", "stolen", __wasi_path_link(ROOT, 0, "../outside/secret", ROOT, "stolen"));
    result("link", "link_out/secret", "stolen", __wasi_path_link(ROOT, 0, "link_out/secret", ROOT, "stolen"));
    result("link", abs_path(0, "/secret"), "stolen",
           __wasi_path_link(ROOT, 0, abs_path(0, "/secret"), ROOT, "stolen"));
    result("link-follow", "rel_out", "stolen", __wasi_path_link(ROOT, FOLLOW, "rel_out", ROOT, "stolen"));
    result("link", "rel_out", "hl_rel_out", __wasi_path_link(ROOT, 0, "rel_out", ROOT, "hl_rel_out"));
    try_read(ROOT, "hl_rel_out");
    result("link", "f", "dangling_abs", __wasi_path_link(ROOT, 0, "f", ROOT, "dangling_abs"));

    section("symlinks made by the guest");
    result("symlink", "x", "../outside/evil", __wasi_path_symlink("x", ROOT, "../outside/evil"));
    result("symlink", "x", "link_out/evil", __wasi_path_symlink("x", ROOT, "link_out/evil"));
    result("symlink", "../outside", "evil", __wasi_path_symlink("../outside", ROOT, "evil"));
    try_read(ROOT, "evil/secret");
    try_open(ROOT, "evil/new", FOLLOW, __WASI_OFLAGS_CREAT, WR, "create");
    result("symlink", abs_path(1, ""), "evil_abs", __wasi_path_symlink(abs_path(1, ""), ROOT, "evil_abs"));
    try_read(ROOT, "evil_abs/secret");
    result("symlink", "sub/..", "evil_up", __wasi_path_symlink("sub/..", ROOT, "evil_up"));
    try_read(ROOT, "evil_up/../outside/secret");

    section("times");
    result("utimes", "rel_out", NULL,
           __wasi_path_filestat_set_times(ROOT, FOLLOW, "rel_out", 1, 1, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    result("utimes", "../outside/secret", NULL,
           __wasi_path_filestat_set_times(ROOT, FOLLOW, "../outside/secret", 1, 1,
                                          __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    result("utimes", "link_out/odir", NULL,
           __wasi_path_filestat_set_times(ROOT, FOLLOW, "link_out/odir", 1, 1,
                                          __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    result("utimes", "abs_out", NULL,
           __wasi_path_filestat_set_times(ROOT, FOLLOW, "abs_out", 1, 1, __WASI_FSTFLAGS_MTIM_NOW));

    section("through wasi-libc");
    errno = 0;
    FILE *f = fopen("../outside/secret", "r");
    printf("fopen ../outside/secret r -> %s errno=%d\n", f ? "opened" : "NULL", f ? 0 : errno);
    if (f) fclose(f);
    f = fopen("rel_out", "a");
    printf("fopen rel_out a -> %s errno=%d\n", f ? "opened" : "NULL", f ? 0 : errno);
    if (f) fclose(f);
    errno = 0;
    int fd = open(abs_path(0, "/secret"), O_RDONLY);
    printf("open <ABS>/secret -> %d errno=%d\n", fd < 0 ? -1 : 0, fd < 0 ? errno : 0);
    if (fd >= 0) close(fd);
    errno = 0;
    printf("mkdir ../outside/x -> %d errno=%d\n", mkdir("../outside/x", 0755), errno);
    errno = 0;
    printf("rename f ../outside/f -> %d errno=%d\n", rename("f", "../outside/f"), errno);
    errno = 0;
    printf("link rel_out_dir/secret stolen -> %d errno=%d\n", link("rel_out_dir/secret", "stolen"), errno);
    errno = 0;
    printf("unlink link_out/secret -> %d errno=%d\n", unlink("link_out/secret"), errno);
    errno = 0;
    printf("truncate abs_out -> %d errno=%d\n", truncate("abs_out", 0), errno);
    errno = 0;
    struct stat st;
    printf("stat ../outside -> %d errno=%d\n", stat("../outside", &st), errno);
    return 0;
}
