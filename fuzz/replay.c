/* replay.c: runs fuzz inputs through all three harnesses without libFuzzer, so that the seed
 * corpus (or a crash file) can be checked under valgrind or with a plain gcc build:
 *
 *   gcc -std=c11 -g -O1 -DPIN_FUZZ_REPLAY -Icsrc fuzz/replay.c fuzz/fuzz_spki.c fuzz/fuzz_many.c \
 *       fuzz/fuzz_chain.c csrc/der.c csrc/cert.c csrc/pinning.c -lcrypto -o replay
 *   valgrind --leak-check=full ./replay fuzz/corpus
 *
 * Each argument is a file or a directory (read recursively). Every input goes through every
 * harness, whichever corpus it came from: each harness accepts any bytes. Exits 0 when every check
 * held, and aborts on the first that did not (naming it on stderr). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int PIN_fuzz_spki(const uint8_t *data, size_t size);
int PIN_fuzz_many(const uint8_t *data, size_t size);
int PIN_fuzz_chain(const uint8_t *data, size_t size);

static size_t num_inputs = 0;

/* replay_file runs the file at |path| through every harness. Returns 1, or 0 when it cannot be
 * read. */
static int replay_file(const char *path) {
    FILE *file = fopen(path, "rb");
    uint8_t *data;
    long size;
    if (file == NULL || fseek(file, 0, SEEK_END) != 0 || (size = ftell(file)) < 0 ||
        fseek(file, 0, SEEK_SET) != 0) {
        if (file != NULL) {
            fclose(file);
        }
        return 0;
    }
    /* An exact-size block (at least one byte for malloc), so that valgrind sees any read past the
     * input's end. */
    data = malloc(size == 0 ? 1 : (size_t)size);
    if (data == NULL || fread(data, 1, (size_t)size, file) != (size_t)size) {
        free(data);
        fclose(file);
        return 0;
    }
    fclose(file);
    PIN_fuzz_spki(data, (size_t)size);
    PIN_fuzz_many(data, (size_t)size);
    PIN_fuzz_chain(data, (size_t)size);
    free(data);
    num_inputs++;
    return 1;
}

/* replay_path replays a file, or every file below a directory. Returns 1, or 0 on a read error. */
static int replay_path(const char *path) {
    struct stat info;
    DIR *dir;
    struct dirent *entry;
    int ok = 1;
    if (stat(path, &info) != 0) {
        fprintf(stderr, "replay: cannot stat %s\n", path);
        return 0;
    }
    if (!S_ISDIR(info.st_mode)) {
        if (!replay_file(path)) {
            fprintf(stderr, "replay: cannot read %s\n", path);
            return 0;
        }
        return 1;
    }
    dir = opendir(path);
    if (dir == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 0;
    }
    while ((entry = readdir(dir)) != NULL) {
        size_t len;
        char *child;
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) {
            continue;
        }
        len = strlen(path) + strlen(entry->d_name) + 2;
        child = malloc(len);
        if (child == NULL) {
            closedir(dir);
            return 0;
        }
        snprintf(child, len, "%s/%s", path, entry->d_name);
        ok = replay_path(child) && ok;
        free(child);
    }
    closedir(dir);
    return ok;
}

int main(int argc, char **argv) {
    int ok = 1;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        ok = replay_path(argv[i]) && ok;
    }
    printf("replay: %zu inputs through fuzz_spki, fuzz_many and fuzz_chain: all checks held\n",
           num_inputs);
    return ok ? 0 : 1;
}
