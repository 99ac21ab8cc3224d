/* A driver for the fuzz targets when libFuzzer is not there (gcc builds,
 * `make check`): it runs every corpus file, then random mutations of them
 * (no coverage feedback: a plain mutational fuzzer), and stops after
 * -runs=N inputs or -max_total_time=S seconds.
 *
 *     fuzz_tables_driver [-runs=N] [-max_total_time=S] [-seed=N]
 *                        [-max_len=N] [-dict=FILE] [-artifact=FILE]
 *                        CORPUS_DIR_OR_FILE...
 *
 * Before each input runs, it is written to the artifact file (default
 * ./driver-input): when the target aborts, that file holds the input that
 * did it, to replay with `fuzz_tables_driver FILE`.  The same options as
 * libFuzzer's, so that the Makefile runs both alike.
 */

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

typedef struct {
    uint8_t *data;
    size_t size;
} blob_t;

static blob_t *corpus;
static size_t ncorpus, corpus_capacity;
static blob_t *tokens;
static size_t ntokens, tokens_capacity;
static int artifact_fd = -1;
static uint64_t rng_state;

static uint64_t
rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static void
append(blob_t **array, size_t *count, size_t *capacity, uint8_t *data,
       size_t size)
{
    if (*count == *capacity) {
        *capacity = *capacity ? 2 * *capacity : 64;
        *array = (blob_t *)realloc(*array, *capacity * sizeof(blob_t));
        if (*array == NULL) {
            abort();
        }
    }
    (*array)[*count].data = data;
    (*array)[*count].size = size;
    (*count)++;
}

static int
read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    long length;

    if (fp == NULL) {
        return -1;
    }
    fseek(fp, 0, SEEK_END);
    length = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    *data = (uint8_t *)malloc(length > 0 ? (size_t)length : 1);
    *size = fread(*data, 1, (size_t)length, fp);
    fclose(fp);
    return 0;
}

static void
load_path(const char *path)
{
    struct stat st;
    uint8_t *data;
    size_t size;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "driver: cannot read %s\n", path);
        exit(2);
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *entry;
        char child[4096];

        while (dir != NULL && (entry = readdir(dir)) != NULL) {
            if (entry->d_name[0] == '.') {
                continue;
            }
            snprintf(child, sizeof(child), "%s/%s", path, entry->d_name);
            load_path(child);
        }
        if (dir != NULL) {
            closedir(dir);
        }
        return;
    }
    if (read_file(path, &data, &size) == 0) {
        append(&corpus, &ncorpus, &corpus_capacity, data, size);
    }
}

/* libFuzzer's dictionary format: one "token" per line, \xNN escapes. */
static void
load_dict(const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[1024];

    if (fp == NULL) {
        fprintf(stderr, "driver: cannot read %s\n", path);
        exit(2);
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        char *p = strchr(line, '"');
        uint8_t *token;
        size_t n = 0;

        if (line[0] == '#' || p == NULL) {
            continue;
        }
        token = (uint8_t *)malloc(strlen(line));
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1] == 'x') {
                unsigned int byte;
                sscanf(p + 2, "%2x", &byte);
                token[n++] = (uint8_t)byte;
                p += 3;
            }
            else if (*p == '\\' && p[1] != '\0') {
                token[n++] = (uint8_t)*++p;
            }
            else {
                token[n++] = (uint8_t)*p;
            }
        }
        append(&tokens, &ntokens, &tokens_capacity, token, n);
    }
    fclose(fp);
}

static void
run_one(const uint8_t *data, size_t size)
{
    if (artifact_fd >= 0) {
        if (ftruncate(artifact_fd, 0) != 0
            || pwrite(artifact_fd, data, size, 0) != (ssize_t)size) {
            perror("driver: artifact");
            exit(2);
        }
    }
    LLVMFuzzerTestOneInput(data, size);
}

/* A mutation of a corpus entry, into buffer (max_len bytes). */
static size_t
mutate(uint8_t *buffer, size_t max_len)
{
    size_t size = 0;
    int steps = 1 + (int)(rng() % 8);

    if (ncorpus != 0) {
        blob_t *base = &corpus[rng() % ncorpus];
        size = base->size < max_len ? base->size : max_len;
        memcpy(buffer, base->data, size);
    }
    while (steps-- > 0) {
        size_t pos = size ? rng() % size : 0;
        size_t n;

        switch (rng() % 8) {
        case 0:     /* flip a bit */
            if (size) {
                buffer[pos] ^= (uint8_t)(1u << (rng() % 8));
            }
            break;
        case 1:     /* set a byte to an interesting value */
            if (size) {
                static const uint8_t values[] = {0, 1, 0x7f, 0x80, 0xff,
                                                 '(', ')', '.', 't', 'q'};
                buffer[pos] = values[rng() % sizeof(values)];
            }
            break;
        case 2:     /* random byte */
            if (size) {
                buffer[pos] = (uint8_t)rng();
            }
            break;
        case 3:     /* delete a range */
            if (size) {
                n = rng() % (size - pos) + 1;
                if (n > 16 && rng() % 2) {
                    n = 1 + rng() % 16;
                }
                memmove(buffer + pos, buffer + pos + n, size - pos - n);
                size -= n;
            }
            break;
        case 4:     /* insert random bytes */
            n = 1 + rng() % 8;
            if (size + n <= max_len) {
                size_t i;
                memmove(buffer + pos + n, buffer + pos, size - pos);
                for (i = 0; i < n; i++) {
                    buffer[pos + i] = (uint8_t)rng();
                }
                size += n;
            }
            break;
        case 5:     /* insert a dictionary token */
            if (ntokens) {
                blob_t *token = &tokens[rng() % ntokens];
                if (size + token->size <= max_len) {
                    memmove(buffer + pos + token->size, buffer + pos,
                            size - pos);
                    memcpy(buffer + pos, token->data, token->size);
                    size += token->size;
                }
            }
            break;
        case 6:     /* duplicate a range */
            if (size) {
                n = rng() % (size - pos) % 64 + 1;
                if (size + n <= max_len) {
                    memmove(buffer + pos + n, buffer + pos, size - pos);
                    size += n;
                }
            }
            break;
        default:    /* splice: the tail of another entry */
            if (ncorpus) {
                blob_t *other = &corpus[rng() % ncorpus];
                size_t from = other->size ? rng() % other->size : 0;
                n = other->size - from;
                if (pos + n > max_len) {
                    n = max_len - pos;
                }
                memcpy(buffer + pos, other->data + from, n);
                size = pos + n;
            }
            break;
        }
    }
    return size;
}

int
main(int argc, char **argv)
{
    unsigned long runs = 0;
    double max_time = 0;
    size_t max_len = 4096;
    const char *artifact = "driver-input";
    unsigned long seed = (unsigned long)time(NULL) ^ (unsigned long)getpid();
    unsigned long done = 0, mutated = 0;
    time_t start = time(NULL);
    uint8_t *buffer;
    size_t i;
    int arg;

    if (LLVMFuzzerInitialize != NULL) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    for (arg = 1; arg < argc; arg++) {
        const char *a = argv[arg];
        if (strncmp(a, "-runs=", 6) == 0) {
            runs = strtoul(a + 6, NULL, 10);
        }
        else if (strncmp(a, "-max_total_time=", 16) == 0) {
            max_time = atof(a + 16);
        }
        else if (strncmp(a, "-seed=", 6) == 0) {
            seed = strtoul(a + 6, NULL, 10);
        }
        else if (strncmp(a, "-max_len=", 9) == 0) {
            max_len = strtoul(a + 9, NULL, 10);
        }
        else if (strncmp(a, "-dict=", 6) == 0) {
            load_dict(a + 6);
        }
        else if (strncmp(a, "-artifact=", 10) == 0) {
            artifact = a + 10;
        }
        else if (a[0] == '-') {
            /* a libFuzzer option this driver ignores */
        }
        else {
            load_path(a);
        }
    }
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    artifact_fd = open(artifact, O_WRONLY | O_CREAT, 0644);
    if (artifact_fd < 0) {
        perror(artifact);
        return 2;
    }
    printf("driver: seed %lu, %zu corpus inputs, %zu dictionary tokens\n",
           seed, ncorpus, ntokens);
    fflush(stdout);
    for (i = 0; i < ncorpus; i++) {
        run_one(corpus[i].data, corpus[i].size);
        done++;
    }
    buffer = (uint8_t *)malloc(max_len + 1);
    while ((runs == 0 || done < runs)
           && (max_time <= 0 || difftime(time(NULL), start) < max_time)
           && (runs != 0 || max_time > 0)) {
        size_t size = mutate(buffer, max_len);
        uint8_t *copy = (uint8_t *)malloc(size ? size : 1);
        /* an exact-size copy, so that ASan sees reads past the end */
        memcpy(copy, buffer, size);
        run_one(copy, size);
        free(copy);
        done++;
        mutated++;
    }
    free(buffer);
    close(artifact_fd);
    unlink(artifact);
    printf("driver: %lu inputs run (%lu mutated) in %.0f s, seed %lu: "
           "no crash\n", done, mutated, difftime(time(NULL), start), seed);
    return 0;
}
