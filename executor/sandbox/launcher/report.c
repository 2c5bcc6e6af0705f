/* Frames to the supervisor on the report pipe: two big-endian u32 lengths,
 * a JSON header and an empty payload (executor/messages.py). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "launcher.h"

int report_fd = FD_REPORT;

void write_all(int fd, const void *data, size_t len, const char *step)
{
    const char *cursor = data;

    while (len > 0) {
        ssize_t written = write(fd, cursor, len);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            fail_errno(step, "write");
        cursor += written;
        len -= (size_t)written;
    }
}

/* JSON string body: quotes, backslashes and control characters escaped. */
static size_t escape(char *out, size_t room, const char *text)
{
    size_t used = 0;

    for (; *text && used + 7 < room; text++) {
        unsigned char c = (unsigned char)*text;
        if (c == '"' || c == '\\')
            used += (size_t)snprintf(out + used, room - used, "\\%c", c);
        else if (c < 0x20)
            used += (size_t)snprintf(out + used, room - used, "\\u%04x", c);
        else
            out[used++] = (char)c;
    }
    out[used] = '\0';
    return used;
}

static void send_header(const char *json, size_t len)
{
    if (len > 4096)
        len = 4096; /* cannot happen with the buffers below; never overflow */
    unsigned char head[8] = {
        (unsigned char)(len >> 24), (unsigned char)(len >> 16),
        (unsigned char)(len >> 8), (unsigned char)len, 0, 0, 0, 0,
    };
    char frame[8 + 4096];

    memcpy(frame, head, 8);
    memcpy(frame + 8, json, len);
    /* One write: a frame is never interleaved with another writer's. */
    if (write(report_fd, frame, 8 + len) < 0)
        return; /* the supervisor stopped reading: it ended the stage */
}

void report_failure(const char *step, const char *detail)
{
    char step_json[128], detail_json[2048], json[4096];
    int len;

    escape(step_json, sizeof step_json, step);
    escape(detail_json, sizeof detail_json, detail);
    len = snprintf(json, sizeof json,
                   "{\"type\":\"setup_failed\",\"step\":\"%s\",\"detail\":\"%s\"}",
                   step_json, detail_json);
    send_header(json, len < (int)sizeof json ? (size_t)len : sizeof json - 1);
}

/* The program is about to start: its first byte is on its way to a
 * pre-started interpreter (warm.c). An interpreter that ends before this
 * never had its run's program. */
void report_started(void)
{
    static const char json[] = "{\"type\":\"started\"}";

    send_header(json, sizeof json - 1);
}

void report_exited(int wait_status, long init_cpu_ms, long children_cpu_ms,
                   long children_peak_bytes)
{
    char json[256];
    int len = snprintf(json, sizeof json,
                       "{\"type\":\"exited\",\"wait_status\":%d,"
                       "\"init_cpu_ms\":%ld,\"children_cpu_ms\":%ld,"
                       "\"children_peak_bytes\":%ld}",
                       wait_status, init_cpu_ms, children_cpu_ms,
                       children_peak_bytes);
    send_header(json, (size_t)len);
}

_Noreturn void fail(const char *step, const char *what)
{
    report_failure(step, what);
    _exit(127);
}

_Noreturn void fail_errno(const char *step, const char *what)
{
    char detail[1024];

    snprintf(detail, sizeof detail, "%s: %s", what, strerror(errno));
    fail(step, detail);
}
