/* fs_calls: one pass over every file-system call family through wasi-libc, on the
 * preopened directory ".", printing each call's result and errno (0 on success).
 * Nothing printed depends on the host beyond what WASI reports (no inodes, no
 * current times), so wasmtime's own WASI and the sandbox must print the same bytes.
 *
 * Needs "." preopened on a tree with data.txt ("hello world\n"), dir/a.txt ("a"),
 * dir/b.txt ("bb") and an empty directory empty/ (tests/wasi/test_differential_fs.py
 * builds it).  Single-threaded.  Exit 0 (the calls' errnos are output, not failure). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static void show(const char *what, long result) {
    printf("%-44s -> %ld errno=%d\n", what, result, result < 0 ? errno : 0);
    errno = 0;
}

static void show_wasi(const char *what, __wasi_errno_t e) {
    printf("%-44s -> wasi errno=%d\n", what, (int)e);
}

static const char *kind(mode_t m) {
    if (S_ISREG(m)) return "file";
    if (S_ISDIR(m)) return "dir";
    if (S_ISLNK(m)) return "symlink";
    if (S_ISCHR(m)) return "chardev";
    if (S_ISBLK(m)) return "blockdev";
    return "other";
}

static void show_stat(const char *what, int r, const struct stat *st) {
    if (r < 0) {
        show(what, r);
        return;
    }
    /* a directory's size is the file system's business: not printed */
    if (S_ISDIR(st->st_mode))
        printf("%-44s -> %s nlink=%llu\n", what, kind(st->st_mode), (unsigned long long)st->st_nlink);
    else
        printf("%-44s -> %s size=%lld nlink=%llu\n", what, kind(st->st_mode), (long long)st->st_size,
               (unsigned long long)st->st_nlink);
}

static void show_read(const char *what, long n, const char *buf) {
    if (n < 0) {
        show(what, n);
        return;
    }
    printf("%-44s -> %ld \"%.*s\"\n", what, n, (int)n, buf);
}

struct entry {
    char name[64];
    char tag;
};

static int by_name(const void *a, const void *b) {
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* readdir, sorted (the host's order is not part of the contract) */
static void list_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        char what[80];
        snprintf(what, sizeof what, "opendir %s", path);
        show(what, -1);
        return;
    }
    static struct entry entries[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        snprintf(entries[n].name, sizeof entries[n].name, "%s", e->d_name);
        entries[n].tag = e->d_type == DT_DIR ? 'd' : e->d_type == DT_LNK ? 'l' : e->d_type == DT_REG ? 'f' : '?';
        n++;
    }
    closedir(d);
    qsort(entries, (size_t)n, sizeof entries[0], by_name);
    printf("readdir %s:", path);
    for (int i = 0; i < n; i++)
        printf(" %s(%c)", entries[i].name, entries[i].tag);
    printf("\n");
}

static void cat(const char *path) {
    char buf[128];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        show(path, fd);
        return;
    }
    long n = read(fd, buf, sizeof buf);
    close(fd);
    char what[80];
    snprintf(what, sizeof what, "cat %s", path);
    show_read(what, n, buf);
}

int main(void) {
    char buf[128];
    struct stat st;
    long r;

    printf("== open/read/seek/pread/fstat\n");
    int fd = open("data.txt", O_RDONLY);
    show("open data.txt O_RDONLY", fd < 0 ? fd : 0);
    r = read(fd, buf, 5);
    show_read("read 5", r, buf);
    show("lseek 0 SEEK_CUR (tell)", (long)lseek(fd, 0, SEEK_CUR));
    __wasi_filesize_t pos = 99;
    show_wasi("fd_tell", __wasi_fd_tell((__wasi_fd_t)fd, &pos));
    printf("  position=%llu\n", (unsigned long long)pos);
    r = pread(fd, buf, 5, 6);
    show_read("pread 5 at 6", r, buf);
    r = read(fd, buf, 1);
    show_read("read 1 (after pread: position kept)", r, buf);
    show_stat("fstat data.txt", fstat(fd, &st), &st);
    show("lseek 0 SEEK_END", (long)lseek(fd, 0, SEEK_END));
    show("read at EOF", (long)read(fd, buf, sizeof buf));
    show("lseek -1 SEEK_SET", (long)lseek(fd, -1, SEEK_SET));
    show("write to an O_RDONLY fd", (long)write(fd, "x", 1));
    show("ftruncate an O_RDONLY fd", ftruncate(fd, 0));
    show("close", close(fd));
    show("close again", close(fd));
    show("read a closed fd", (long)read(fd, buf, 1));

    printf("== create/write/pwrite/fsync/ftruncate\n");
    fd = open("new.txt", O_CREAT | O_EXCL | O_WRONLY, 0644);
    show("open new.txt O_CREAT|O_EXCL|O_WRONLY", fd < 0 ? fd : 0);
    show("write 6", (long)write(fd, "abcdef", 6));
    show("pwrite 2 at 2", (long)pwrite(fd, "XY", 2, 2));
    show("lseek 0 SEEK_CUR after pwrite", (long)lseek(fd, 0, SEEK_CUR));
    show("fsync", fsync(fd));
    show("fdatasync", fdatasync(fd));
    show("read from an O_WRONLY fd", (long)read(fd, buf, 1));
    show("ftruncate 4", ftruncate(fd, 4));
    show_stat("fstat new.txt", fstat(fd, &st), &st);
    show("ftruncate 10 (grow)", ftruncate(fd, 10));
    show_stat("fstat new.txt", fstat(fd, &st), &st);
    show("ftruncate 4", ftruncate(fd, 4));
    show("close", close(fd));
    cat("new.txt");
    show("open new.txt O_CREAT|O_EXCL again", open("new.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
    fd = open("new.txt", O_WRONLY | O_APPEND);
    show("open new.txt O_APPEND", fd < 0 ? fd : 0);
    show("write 2 (append)", (long)write(fd, "!!", 2));
    show("close", close(fd));
    cat("new.txt");
    fd = open("new.txt", O_RDWR | O_TRUNC);
    show("open new.txt O_RDWR|O_TRUNC", fd < 0 ? fd : 0);
    show_stat("fstat after O_TRUNC", fstat(fd, &st), &st);
    show("write 3", (long)write(fd, "xyz", 3));
    show("lseek 1 SEEK_SET", (long)lseek(fd, 1, SEEK_SET));
    r = read(fd, buf, sizeof buf);
    show_read("read", r, buf);
    show("close", close(fd));

    printf("== open errors\n");
    show("open missing.txt", open("missing.txt", O_RDONLY));
    show("open data.txt/x", open("data.txt/x", O_RDONLY));
    show("open dir O_WRONLY", open("dir", O_WRONLY));
    show("open data.txt O_DIRECTORY", open("data.txt", O_RDONLY | O_DIRECTORY));
    show("open missing/new O_CREAT", open("missing/new", O_CREAT | O_WRONLY, 0644));
    show("open \"\"", open("", O_RDONLY));
    fd = open("dir", O_RDONLY | O_DIRECTORY);
    show("open dir O_DIRECTORY", fd < 0 ? fd : 0);
    show("read a directory fd", (long)read(fd, buf, 1));
    show("write a directory fd", (long)write(fd, "x", 1));
    show_stat("fstat dir", fstat(fd, &st), &st);
    int sub = openat(fd, "a.txt", O_RDONLY);
    show("openat dir a.txt", sub < 0 ? sub : 0);
    r = read(sub, buf, sizeof buf);
    show_read("read", r, buf);
    close(sub);
    show("close dir", close(fd));

    printf("== mkdir/rmdir/unlink\n");
    show("mkdir newdir", mkdir("newdir", 0755));
    show("mkdir newdir again", mkdir("newdir", 0755));
    show("mkdir missing/x", mkdir("missing/x", 0755));
    show("mkdir data.txt/x", mkdir("data.txt/x", 0755));
    show("rmdir dir (not empty)", rmdir("dir"));
    show("rmdir data.txt", rmdir("data.txt"));
    show("rmdir missing", rmdir("missing"));
    show("rmdir newdir", rmdir("newdir"));
    show("rmdir empty/", rmdir("empty/"));
    show("mkdir empty", mkdir("empty", 0755));
    show("unlink dir", unlink("dir"));
    show("unlink missing", unlink("missing"));
    show("unlink data.txt/", unlink("data.txt/"));

    printf("== rename\n");
    show("rename new.txt dir/moved.txt", rename("new.txt", "dir/moved.txt"));
    show("rename missing x", rename("missing", "x"));
    show("rename dir dir/sub (into itself)", rename("dir", "dir/sub"));
    show("rename dir/moved.txt dir/a.txt (replace)", rename("dir/moved.txt", "dir/a.txt"));
    show("rename dir/a.txt empty (file over dir)", rename("dir/a.txt", "empty"));
    show("rename empty dir/a.txt (dir over file)", rename("empty", "dir/a.txt"));
    show("rename empty dir (over non-empty dir)", rename("empty", "dir"));
    show("mkdir d2", mkdir("d2", 0755));
    show("rename d2 empty (dir over empty dir)", rename("d2", "empty"));
    cat("dir/a.txt");

    printf("== symlink/readlink\n");
    show("symlink data.txt sl", symlink("data.txt", "sl"));
    show("symlink data.txt sl again", symlink("data.txt", "sl"));
    show("symlink nowhere dangling", symlink("nowhere", "dangling"));
    show("symlink dir sd", symlink("dir", "sd"));
    memset(buf, 0, sizeof buf);
    r = readlink("sl", buf, sizeof buf);
    show_read("readlink sl", r, buf);
    r = readlink("sl", buf, 3);
    show_read("readlink sl (3-byte buffer)", r, buf);
    show("readlink data.txt (not a link)", (long)readlink("data.txt", buf, sizeof buf));
    show("readlink missing", (long)readlink("missing", buf, sizeof buf));
    show_stat("stat sl", stat("sl", &st), &st);
    show_stat("lstat sl", lstat("sl", &st), &st);
    show_stat("stat dangling", stat("dangling", &st), &st);
    show_stat("lstat dangling", lstat("dangling", &st), &st);
    cat("sl");
    cat("sd/b.txt");
    show("open dangling", open("dangling", O_RDONLY));
    show("open sl O_NOFOLLOW", open("sl", O_RDONLY | O_NOFOLLOW));
    fd = open("dangling", O_CREAT | O_WRONLY, 0644);
    show("open dangling O_CREAT (creates target)", fd < 0 ? fd : 0);
    if (fd >= 0) close(fd);
    show("unlink sl", unlink("sl"));
    show_stat("stat data.txt after unlink sl", stat("data.txt", &st), &st);

    printf("== link\n");
    show("link data.txt hl", link("data.txt", "hl"));
    show_stat("stat data.txt (2 links)", stat("data.txt", &st), &st);
    show("link data.txt hl again", link("data.txt", "hl"));
    show("link dir dl", link("dir", "dl"));
    show("link missing x", link("missing", "x"));
    show("unlink hl", unlink("hl"));
    show_stat("stat data.txt (1 link)", stat("data.txt", &st), &st);

    printf("== times (fixed values only)\n");
    struct timespec ts[2] = {{1000000000, 5}, {1200000000, 7}};
    show("utimensat data.txt", utimensat(AT_FDCWD, "data.txt", ts, 0));
    show_stat("stat data.txt", stat("data.txt", &st), &st);
    printf("  atime=%lld.%09ld mtime=%lld.%09ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    fd = open("data.txt", O_RDONLY);
    struct timespec ts2[2] = {{1300000000, 0}, {1400000000, 0}};
    show("futimens data.txt", futimens(fd, ts2));
    show_stat("fstat data.txt", fstat(fd, &st), &st);
    printf("  atime=%lld mtime=%lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
    close(fd);

    printf("== readdir\n");
    list_dir(".");
    list_dir("dir");
    list_dir("empty");
    list_dir("data.txt");
    list_dir("missing");
    return 0;
}
