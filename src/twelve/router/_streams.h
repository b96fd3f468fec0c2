/* What the files of the _streams module share: the two object types, the stream's states, the
 * epoll registrations, and the functions one file calls in another. Internal to the module. */
#ifndef TWELVE_STREAMS_H
#define TWELVE_STREAMS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_SIZE (256 * 1024) /* as uvloop reads */
#define MAX_EVENTS 128
#define HIGH_WATER (64 * 1024) /* asyncio's default write buffer limits */
#define LOW_WATER (16 * 1024)
#define WATCHED (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)
/* A stream with nothing waiting to go out (see _streams.c). */
#define WATCHED_IN (EPOLLIN | EPOLLRDHUP | EPOLLET)

enum { CONNECTING, OPEN, CLOSING, CLOSED };

typedef struct {
    PyObject_HEAD
    int epfd;
    PyObject *loop;
    PyObject *call_soon; /* loop.call_soon, bound once */
    char *buffer;        /* READ_SIZE bytes every read lands in first */
} Poller;

typedef struct {
    PyObject_HEAD
    Poller *poller;
    int fd;
    int state;
    int reading_paused;
    int read_pending; /* readable while paused: re-armed on resume */
    int writing_paused;
    int registered; /* holds a reference to itself while in the epoll set */
    int dispatching; /* its protocol is being called from the poller's turn */
    int lost_pending; /* closed meanwhile: connection_lost follows when the callback returns */
    int sent;         /* bytes went out already: the next send needs TCP_NODELAY */
    int nodelay;      /* TCP_NODELAY is set */
    int watching_out; /* registered for EPOLLOUT too: a connect under way, or bytes buffered */
    int peer_closed;  /* the app's FIN came with the last event: a close may reset */
    PyObject *lost_exc;
    PyObject *protocol;
    PyObject *data_received; /* protocol.data_received, bound once */
    PyObject *waiter; /* told of the connect's end: waiter.connected(protocol) or connect_failed() */
    char *wbuf; /* bytes accepted by write() that the socket did not take yet */
    Py_ssize_t wstart, wend, wcap;
} Stream;

#pragma GCC visibility push(hidden)

extern PyTypeObject StreamType;

/* Method names, interned once at import (_streams.c). */
extern PyObject *s_connection_made, *s_data_received, *s_eof_received, *s_connection_lost,
    *s_pause_writing, *s_resume_writing, *s_call_exception_handler, *s_lost_method, *s_connected,
    *s_connect_failed;

/* _streams_life.c: a stream's start and end. */
void report(Stream *s, const char *message);
void reset_on_close(Stream *s);
int peer_closed(Stream *s);
void call_lost_now(Stream *s, PyObject *exc);
void end_now(Stream *s, PyObject *exc);
void end_soon(Stream *s, PyObject *exc);
void fail_io(Stream *s, int code, int now);
void connected(Stream *s);
void abandon(Stream *s);
void refused(Stream *s);

/* _streams_io.c: the bytes both ways. */
ssize_t send_bytes(Stream *s, const char *data, Py_ssize_t size);
int buffer_append(Stream *s, const char *data, Py_ssize_t size);
int watch_writes(Stream *s);
int call_protocol(Stream *s, PyObject *method);
PyObject *Stream_write(Stream *s, PyObject *data);
void handle(Stream *s, uint32_t events);

#pragma GCC visibility pop

#endif
