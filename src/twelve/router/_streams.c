/* Connections to web processes without asyncio transports: the compiled router's upstream I/O.
 *
 * A ``Poller`` owns one epoll set per worker, which the worker's event loop watches as a single
 * file descriptor (``loop.add_reader(poller.fileno(), poller.poll)``). Each ``Stream`` in it is
 * one TCP connection to a backend and offers the part of ``asyncio.Transport`` the router uses
 * (write, close, abort, pause_reading, resume_reading, is_closing), calling its protocol's
 * connection_made, data_received, eof_received, connection_lost, pause_writing and resume_writing
 * as an asyncio transport would.
 *
 * Why: a new connection through ``loop.create_connection`` took about 40,000 instructions in
 * uvloop and Python (a coroutine resumed three times, a transport tracked in a pure-Python
 * ``WeakValueDictionary``, epoll changes through io_uring, getsockname and getpeername), about
 * half of all the router does for an app that closes after every response. Here it is socket,
 * connect, one epoll_ctl and a send of the request head: that send also says whether the
 * connection is already up (on loopback it nearly always is), so the request goes out at once.
 *
 * Nagle's algorithm holds back a small segment only while an earlier one is unacknowledged, so
 * TCP_NODELAY is set before a connection's second send, not on every new socket: an app that
 * closes after each response never needs it, and the call was one in eleven per request.
 *
 * Sockets are registered edge-triggered, for reading only: a new socket is writable as it joins
 * the set, and that event alone would cost a turn of the loop per request. Writing is watched too
 * from the first time bytes must wait (or while the connect is under way), and stays watched, so
 * waiting to write changes the set at most once; closing the socket leaves it.
 */
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
/* A stream with nothing waiting to go out (see above). */
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
    int peer_closed;  /* the app's FIN came with the last event: a close may reset (see below) */
    PyObject *lost_exc;
    PyObject *protocol;
    PyObject *data_received; /* protocol.data_received, bound once */
    PyObject *waiter; /* told of the connect's end: waiter.connected(protocol) or connect_failed() */
    char *wbuf; /* bytes accepted by write() that the socket did not take yet */
    Py_ssize_t wstart, wend, wcap;
} Stream;

static PyTypeObject StreamType;

/* Method names, interned once at import. */
static PyObject *s_connection_made, *s_data_received, *s_eof_received, *s_connection_lost,
    *s_pause_writing, *s_resume_writing, *s_call_exception_handler, *s_lost_method, *s_connected,
    *s_connect_failed;

/* ---- errors raised from protocol code ---- */

#if PY_VERSION_HEX < 0x030C0000
/* Python 3.12's one-object error API, on 3.11's three-part one (PyErr_Fetch is deprecated). */
static PyObject *
PyErr_GetRaisedException(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL)
        return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

static void
PyErr_SetRaisedException(PyObject *exc)
{
    if (exc == NULL) {
        PyErr_Clear();
        return;
    }
    PyObject *tb = PyException_GetTraceback(exc);
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), exc, tb);
}
#endif

static void
report(Stream *s, const char *message)
{
    /* Like an asyncio transport: the loop's exception handler hears of it, the connection ends. */
    PyObject *exc = PyErr_GetRaisedException(); /* and clears it */
    if (s->poller->loop == NULL) { /* the poller was cleared by the garbage collector */
        PyErr_SetRaisedException(exc);
        PyErr_WriteUnraisable((PyObject *)s);
        return;
    }
    PyObject *context = Py_BuildValue("{s:s,s:O,s:O}", "message", message, "exception",
                                      exc ? exc : Py_None, "protocol",
                                      s->protocol ? s->protocol : Py_None);
    if (context != NULL) {
        PyObject *r =
            PyObject_CallMethodOneArg(s->poller->loop, s_call_exception_handler, context);
        Py_XDECREF(r);
        Py_DECREF(context);
    }
    Py_XDECREF(exc);
    PyErr_Clear();
}

/* ---- ending ---- */

static void
drop_callbacks(Stream *s)
{
    Py_CLEAR(s->waiter);
}

static void
close_socket(Stream *s)
{
    if (s->fd >= 0) {
        close(s->fd); /* also takes it out of the epoll set */
        s->fd = -1;
    }
    PyMem_Free(s->wbuf);
    s->wbuf = NULL;
    s->wstart = s->wend = s->wcap = 0;
    s->state = CLOSED;
}

/* For a close once the app has closed its side (its FIN is in): with nothing of ours waiting to
 * go out, a reset ends both sides at once. A FIN would cost one more exchange of segments in
 * this close and leave a TIME_WAIT socket in the kernel for a minute, as nginx's closes do;
 * HAProxy resets in the same case. An app still writing is never reset: its FIN has not come. */
static void
reset_on_close(Stream *s)
{
    if (s->wstart == s->wend) {
        struct linger now = {.l_onoff = 1, .l_linger = 0};
        setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
    }
}

/* Whether the app's FIN is in: said by the last event, else by a read that would not wait. */
static int
peer_closed(Stream *s)
{
    char byte;
    return s->peer_closed || recv(s->fd, &byte, 1, MSG_DONTWAIT) == 0;
}

/* The poller's reference goes last: the caller must hold its own. */
static void
unregister(Stream *s)
{
    if (s->registered) {
        s->registered = 0;
        Py_DECREF(s);
    }
}

static void
call_lost_now(Stream *s, PyObject *exc)
{
    PyObject *protocol = s->protocol;
    s->protocol = NULL;
    Py_CLEAR(s->data_received);
    if (protocol != NULL) {
        PyObject *r = PyObject_CallMethodOneArg(protocol, s_connection_lost, exc ? exc : Py_None);
        if (r == NULL) {
            s->protocol = protocol; /* for the report */
            report(s, "error in connection_lost");
            s->protocol = NULL;
        }
        Py_XDECREF(r);
        Py_DECREF(protocol);
    }
}

/* Close and tell the protocol now: only from the poller's own turn, never inside protocol code. */
static void
end_now(Stream *s, PyObject *exc)
{
    close_socket(s);
    call_lost_now(s, exc);
    unregister(s);
}

/* Close and tell the protocol later, never from inside the close itself, as asyncio transports
 * do: the caller may be the protocol. Closed from a callback of the poller's own turn (a response
 * complete, say), it is told as that callback returns; else in the loop's next turn. */
static void
end_soon(Stream *s, PyObject *exc)
{
    close_socket(s);
    if (s->protocol != NULL && s->dispatching) {
        s->lost_pending = 1;
        Py_XINCREF(exc);
        Py_XSETREF(s->lost_exc, exc);
    }
    else if (s->protocol != NULL) {
        PyObject *lost = s->poller->call_soon ? PyObject_GetAttr((PyObject *)s, s_lost_method)
                                              : NULL;
        PyObject *r = lost ? PyObject_CallFunctionObjArgs(s->poller->call_soon, lost,
                                                          exc ? exc : Py_None, NULL)
                           : NULL;
        if (r == NULL) {
            PyErr_Clear();
            call_lost_now(s, exc);
        }
        Py_XDECREF(r);
        Py_XDECREF(lost);
    }
    unregister(s);
}

static PyObject *
os_error(int code)
{
    return PyObject_CallFunction(PyExc_OSError, "is", code, strerror(code));
}

/* A send or receive failed: the connection is gone (ECONNRESET, EPIPE...). */
static void
fail_io(Stream *s, int code, int now)
{
    PyObject *exc = os_error(code);
    if (exc == NULL)
        PyErr_Clear();
    if (now)
        end_now(s, exc);
    else
        end_soon(s, exc);
    Py_XDECREF(exc);
}

/* ---- connecting ---- */

static void
connected(Stream *s)
{
    s->state = OPEN;
    PyObject *waiter = s->waiter;
    s->waiter = NULL;
    s->data_received = PyObject_GetAttr(s->protocol, s_data_received);
    PyObject *r = s->data_received
                      ? PyObject_CallMethodOneArg(s->protocol, s_connection_made, (PyObject *)s)
                      : NULL;
    if (r != NULL && waiter != NULL) {
        Py_DECREF(r);
        r = PyObject_CallMethodOneArg(waiter, s_connected, s->protocol);
    }
    Py_XDECREF(waiter);
    if (r == NULL) {
        report(s, "error in connection_made");
        end_soon(s, NULL);
        return;
    }
    Py_DECREF(r);
}

/* A connect that never became a connection: no connection_made, so no connection_lost either,
 * as asyncio. */
static void
abandon(Stream *s)
{
    drop_callbacks(s);
    close_socket(s);
    Py_CLEAR(s->protocol);
    unregister(s);
}

static void
refused(Stream *s)
{
    PyObject *waiter = s->waiter;
    s->waiter = NULL;
    abandon(s);
    if (waiter != NULL) {
        PyObject *r = PyObject_CallMethodNoArgs(waiter, s_connect_failed);
        if (r == NULL)
            report(s, "error in the connect failure callback");
        Py_XDECREF(r);
        Py_DECREF(waiter);
    }
}

/* ---- writing ---- */

/* Every send of a stream's bytes: the first goes as it is (nothing is in flight for Nagle to
 * wait on), any later one with TCP_NODELAY set. */
static ssize_t
send_bytes(Stream *s, const char *data, Py_ssize_t size)
{
    if (s->sent && !s->nodelay) {
        int one = 1;
        setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        s->nodelay = 1;
    }
    ssize_t n = send(s->fd, data, size, MSG_NOSIGNAL);
    if (n > 0)
        s->sent = 1;
    return n;
}

static int
buffer_append(Stream *s, const char *data, Py_ssize_t size)
{
    if (s->wstart == s->wend)
        s->wstart = s->wend = 0;
    if (s->wend + size > s->wcap) {
        Py_ssize_t used = s->wend - s->wstart;
        if (s->wstart > 0 && used + size <= s->wcap) {
            memmove(s->wbuf, s->wbuf + s->wstart, used);
        }
        else {
            Py_ssize_t cap = s->wcap ? s->wcap : 16384;
            while (cap < used + size)
                cap *= 2;
            char *grown = PyMem_Malloc(cap);
            if (grown == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            if (used)
                memcpy(grown, s->wbuf + s->wstart, used);
            PyMem_Free(s->wbuf);
            s->wbuf = grown;
            s->wcap = cap;
        }
        s->wstart = 0;
        s->wend = used;
    }
    memcpy(s->wbuf + s->wend, data, size);
    s->wend += size;
    return 0;
}

/* Bytes wait in the buffer, or the connect is under way: watch for writability from now on
 * (kept afterwards: with edge triggering it costs nothing while the buffer is empty). */
static int
watch_writes(Stream *s)
{
    if (s->watching_out)
        return 0;
    struct epoll_event ev = {.events = WATCHED, .data.ptr = s};
    if (epoll_ctl(s->poller->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    s->watching_out = 1;
    return 0;
}

static int
call_protocol(Stream *s, PyObject *method)
{
    PyObject *r = PyObject_CallMethodNoArgs(s->protocol, method);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* Send what is buffered; with ``now`` (the poller's turn) a failure ends the stream at once. */
static void
flush(Stream *s, int now)
{
    while (s->wstart < s->wend) {
        ssize_t n = send_bytes(s, s->wbuf + s->wstart, s->wend - s->wstart);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            fail_io(s, errno, now);
            return;
        }
        s->wstart += n;
    }
    if (s->wstart == s->wend && s->state == CLOSING) {
        if (now)
            end_now(s, NULL);
        else
            end_soon(s, NULL);
        return;
    }
    if (s->writing_paused && s->wend - s->wstart <= LOW_WATER && s->protocol != NULL) {
        s->writing_paused = 0;
        if (call_protocol(s, s_resume_writing) < 0) {
            report(s, "error in resume_writing");
            end_soon(s, NULL);
        }
    }
}

static PyObject *
Stream_write(Stream *s, PyObject *data)
{
    Py_buffer view;
    if (s->state != OPEN && s->state != CONNECTING)
        Py_RETURN_NONE; /* written after close: dropped, as asyncio does */
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
        return NULL; /* bytes, bytearray, memoryview */
    const char *at = view.buf;
    Py_ssize_t left = view.len;
    if (s->state == OPEN && s->wstart == s->wend) {
        while (left > 0) {
            ssize_t n = send_bytes(s, at, left);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                int code = errno;
                PyBuffer_Release(&view);
                fail_io(s, code, 0);
                Py_RETURN_NONE;
            }
            at += n;
            left -= n;
        }
    }
    int err = left > 0 ? buffer_append(s, at, left) : 0;
    if (err == 0 && left > 0 && s->state == OPEN)
        err = watch_writes(s);
    PyBuffer_Release(&view);
    if (err < 0)
        return NULL;
    if (!s->writing_paused && s->wend - s->wstart > HIGH_WATER) {
        s->writing_paused = 1;
        if (call_protocol(s, s_pause_writing) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* ---- reading ---- */

static void
read_all(Stream *s, int to_the_end)
{
    char *buffer = s->poller->buffer;
    s->peer_closed = to_the_end;
    while (s->state == OPEN) {
        if (s->reading_paused) {
            s->read_pending = 1;
            return;
        }
        ssize_t n = recv(s->fd, buffer, READ_SIZE, 0);
        if (n > 0) {
            PyObject *data = PyBytes_FromStringAndSize(buffer, n);
            PyObject *r = data ? PyObject_CallOneArg(s->data_received, data) : NULL;
            Py_XDECREF(data);
            if (r == NULL) {
                report(s, "error in data_received");
                end_now(s, NULL);
                return;
            }
            Py_DECREF(r);
            /* A short read took all there was; more arriving later is a new edge. */
            if (n < READ_SIZE && !to_the_end)
                return;
            continue;
        }
        if (n == 0) {
            PyObject *r = PyObject_CallMethodNoArgs(s->protocol, s_eof_received);
            if (r == NULL) {
                report(s, "error in eof_received");
                end_now(s, NULL);
                return;
            }
            int keep = PyObject_IsTrue(r);
            Py_DECREF(r);
            if (keep < 0)
                PyErr_Clear();
            if (keep <= 0 && s->state == OPEN) {
                reset_on_close(s);
                end_now(s, NULL);
            }
            else if (s->state == OPEN)
                s->reading_paused = 1; /* half closed: nothing more to read */
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            fail_io(s, errno, 1);
        return;
    }
}

static void handle_events(Stream *s, uint32_t events);

static void
handle(Stream *s, uint32_t events)
{
    s->dispatching = 1;
    handle_events(s, events);
    s->dispatching = 0;
    if (s->lost_pending) {
        s->lost_pending = 0;
        PyObject *exc = s->lost_exc;
        s->lost_exc = NULL;
        call_lost_now(s, exc);
        Py_XDECREF(exc);
    }
}

static void
handle_events(Stream *s, uint32_t events)
{
    if (s->state == CONNECTING) {
        if (events & (EPOLLERR | EPOLLHUP)) {
            refused(s);
            return;
        }
        if (!(events & EPOLLOUT))
            return;
        connected(s);
    }
    if (s->state == CLOSED)
        return;
    if ((events & EPOLLOUT) && s->wstart < s->wend) {
        flush(s, 1);
        if (s->state == CLOSED)
            return;
    }
    if (s->state == OPEN && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        read_all(s, (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
}

/* ---- Stream methods (the transport the protocol holds) ---- */

static PyObject *
Stream_close(Stream *s, PyObject *Py_UNUSED(ignored))
{
    /* The caller holds a reference to s throughout, so the poller's may go here. */
    if (s->state == CONNECTING)
        abandon(s);
    else if (s->state == OPEN && s->wstart < s->wend)
        s->state = CLOSING; /* ends once the buffer is sent */
    else if (s->state == OPEN) {
        if (peer_closed(s))
            reset_on_close(s);
        end_soon(s, NULL);
    }
    Py_RETURN_NONE;
}

static PyObject *
Stream_abort(Stream *s, PyObject *Py_UNUSED(ignored))
{
    if (s->state == CONNECTING)
        abandon(s);
    else if (s->state == OPEN || s->state == CLOSING)
        end_soon(s, NULL);
    Py_RETURN_NONE;
}

static PyObject *
Stream_cancel(Stream *s, PyObject *Py_UNUSED(ignored))
{
    /* A connect given up (too slow): the socket closes and neither callback is called. */
    if (s->state == CONNECTING)
        abandon(s);
    Py_RETURN_NONE;
}

static PyObject *
Stream_pause_reading(Stream *s, PyObject *Py_UNUSED(ignored))
{
    s->reading_paused = 1;
    Py_RETURN_NONE;
}

static PyObject *
Stream_resume_reading(Stream *s, PyObject *Py_UNUSED(ignored))
{
    if (s->reading_paused && s->state == OPEN) {
        s->reading_paused = 0;
        if (s->read_pending) {
            /* Modifying the registration makes epoll report what is readable now again. */
            s->read_pending = 0;
            struct epoll_event ev = {.events = s->watching_out ? WATCHED : WATCHED_IN,
                                     .data.ptr = s};
            if (epoll_ctl(s->poller->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
                return PyErr_SetFromErrno(PyExc_OSError);
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
Stream_is_closing(Stream *s, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(s->state >= CLOSING);
}

static PyObject *
Stream_connection_lost(Stream *s, PyObject *exc)
{
    call_lost_now(s, exc == Py_None ? NULL : exc);
    Py_RETURN_NONE;
}

static PyObject *
Stream_get_pending(Stream *s, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(s->state == CONNECTING);
}

static PyObject *
Stream_get_buffered(Stream *s, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(s->wend - s->wstart);
}

static PyObject *
Stream_get_nodelay(Stream *s, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(s->nodelay);
}

static int
Stream_traverse(Stream *s, visitproc visit, void *arg)
{
    Py_VISIT(s->poller);
    Py_VISIT(s->protocol);
    Py_VISIT(s->data_received);
    Py_VISIT(s->waiter);
    Py_VISIT(s->lost_exc);
    return 0;
}

static int
Stream_clear(Stream *s)
{
    Py_CLEAR(s->protocol);
    Py_CLEAR(s->data_received);
    Py_CLEAR(s->waiter);
    Py_CLEAR(s->lost_exc);
    return 0;
}

static void
Stream_dealloc(Stream *s)
{
    PyObject_GC_UnTrack(s);
    if (s->fd >= 0)
        close(s->fd);
    PyMem_Free(s->wbuf);
    Stream_clear(s);
    Py_CLEAR(s->poller);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyMethodDef Stream_methods[] = {
    {"write", (PyCFunction)Stream_write, METH_O, "Send bytes, buffering what the socket refuses."},
    {"close", (PyCFunction)Stream_close, METH_NOARGS, "Close once the buffer is sent."},
    {"abort", (PyCFunction)Stream_abort, METH_NOARGS, "Close now, dropping the buffer."},
    {"cancel", (PyCFunction)Stream_cancel, METH_NOARGS, "Give up a connect under way, silently."},
    {"pause_reading", (PyCFunction)Stream_pause_reading, METH_NOARGS, NULL},
    {"resume_reading", (PyCFunction)Stream_resume_reading, METH_NOARGS, NULL},
    {"is_closing", (PyCFunction)Stream_is_closing, METH_NOARGS, NULL},
    {"_connection_lost", (PyCFunction)Stream_connection_lost, METH_O, NULL},
    {NULL},
};

static PyGetSetDef Stream_getset[] = {
    {"pending", (getter)Stream_get_pending, NULL, "True while the connect is under way.", NULL},
    {"nodelay", (getter)Stream_get_nodelay, NULL, "True once TCP_NODELAY is set.", NULL},
    {"buffered", (getter)Stream_get_buffered, NULL, "Bytes written but not sent yet.", NULL},
    {NULL},
};

static PyTypeObject StreamType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "twelve.router._streams.Stream",
    .tp_basicsize = sizeof(Stream),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "One connection to a backend, with the transport methods the router uses.",
    .tp_traverse = (traverseproc)Stream_traverse,
    .tp_clear = (inquiry)Stream_clear,
    .tp_dealloc = (destructor)Stream_dealloc,
    .tp_methods = Stream_methods,
    .tp_getset = Stream_getset,
};

/* ---- Poller ---- */

static int
Poller_init(Poller *p, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"loop", NULL};
    PyObject *loop;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O", names, &loop))
        return -1;
    if (p->epfd >= 0) {
        PyErr_SetString(PyExc_RuntimeError, "the poller is already set up");
        return -1;
    }
    PyObject *call_soon = PyObject_GetAttrString(loop, "call_soon");
    if (call_soon == NULL && !PyErr_ExceptionMatches(PyExc_AttributeError))
        return -1;
    if (call_soon == NULL || !PyCallable_Check(call_soon)) {
        Py_XDECREF(call_soon);
        PyErr_Format(PyExc_TypeError, "loop must be an event loop with call_soon, not %.100s",
                     Py_TYPE(loop)->tp_name);
        return -1;
    }
    Py_XSETREF(p->call_soon, call_soon);
    if (p->buffer == NULL && (p->buffer = PyMem_Malloc(READ_SIZE)) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p->epfd < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    Py_XSETREF(p->loop, Py_NewRef(loop));
    return 0;
}

static PyObject *
Poller_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    Poller *p = (Poller *)type->tp_alloc(type, 0);
    if (p != NULL)
        p->epfd = -1;
    return (PyObject *)p;
}

/* A poller holds its loop, and the loop a poller's poll method while it watches the set: a cycle
 * the garbage collector must see through to free either. */
static int
Poller_traverse(Poller *p, visitproc visit, void *arg)
{
    Py_VISIT(p->loop);
    Py_VISIT(p->call_soon);
    return 0;
}

static int
Poller_clear(Poller *p)
{
    Py_CLEAR(p->loop);
    Py_CLEAR(p->call_soon);
    return 0;
}

static void
Poller_dealloc(Poller *p)
{
    PyObject_GC_UnTrack(p);
    if (p->epfd >= 0)
        close(p->epfd);
    PyMem_Free(p->buffer);
    Poller_clear(p);
    Py_TYPE(p)->tp_free((PyObject *)p);
}

static int
parse_address(PyObject *host, int port, struct sockaddr_storage *addr, socklen_t *len)
{
    if (!PyUnicode_Check(host)) {
        PyErr_Format(PyExc_TypeError, "host must be str, not %.100s", Py_TYPE(host)->tp_name);
        return -1;
    }
    Py_ssize_t size;
    const char *text = PyUnicode_AsUTF8AndSize(host, &size);
    if (text == NULL)
        return -1;
    if ((size_t)size != strlen(text)) {
        PyErr_SetString(PyExc_ValueError, "host must not hold a NUL character");
        return -1;
    }
    memset(addr, 0, sizeof(*addr));
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof(*v6);
        return 0;
    }
    PyErr_Format(PyExc_ValueError, "not an IP address: %R", host);
    return -1;
}

static PyObject *
Poller_connect(Poller *p, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 && nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "connect(host, port, protocol, waiter, early=b'')");
        return NULL;
    }
    if (p->epfd < 0 || p->loop == NULL || p->call_soon == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the poller is closed");
        return NULL;
    }
    if (!PyLong_Check(args[1])) {
        PyErr_Format(PyExc_TypeError, "port must be int, not %.100s", Py_TYPE(args[1])->tp_name);
        return NULL;
    }
    long port = PyLong_AsLong(args[1]);
    if (port == -1 && PyErr_Occurred())
        return NULL;
    if (port < 0 || port > 65535) {
        PyErr_SetString(PyExc_ValueError, "port out of range");
        return NULL;
    }
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (parse_address(args[0], (int)port, &addr, &addr_len) < 0)
        return NULL;
    Py_buffer early = {.buf = NULL, .len = 0, .obj = NULL};
    if (nargs == 5 && PyObject_GetBuffer(args[4], &early, PyBUF_SIMPLE) < 0)
        return NULL;
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        PyBuffer_Release(&early);
        return PyErr_SetFromErrno(PyExc_OSError);
    }

    Stream *s = PyObject_GC_New(Stream, &StreamType);
    if (s == NULL) {
        close(fd);
        PyBuffer_Release(&early);
        return NULL;
    }
    Py_INCREF(p);
    s->poller = p;
    s->fd = fd;
    s->state = CONNECTING;
    s->reading_paused = s->read_pending = s->writing_paused = 0;
    s->registered = s->dispatching = s->lost_pending = 0;
    s->sent = s->nodelay = s->watching_out = 0;
    s->lost_exc = NULL;
    s->protocol = Py_NewRef(args[2]);
    s->data_received = NULL;
    s->waiter = Py_NewRef(args[3]);
    s->wbuf = NULL;
    s->wstart = s->wend = s->wcap = 0;
    PyObject_GC_Track(s);

    int up = connect(fd, (struct sockaddr *)&addr, addr_len);
    if (up < 0 && errno != EINPROGRESS) {
        PyBuffer_Release(&early);
        refused(s);
        return (PyObject *)s;
    }
    struct epoll_event ev = {.events = WATCHED_IN, .data.ptr = s};
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        PyBuffer_Release(&early);
        abandon(s);
        Py_DECREF(s);
        return NULL;
    }
    Py_INCREF(s);
    s->registered = 1;
    /* The first send says where the connect is: it goes out when the connection is up, fails
     * with EAGAIN while it is under way and with the connect's own error (ECONNREFUSED) when it
     * failed. With nothing to send early, a zero-length send says the same. */
    ssize_t n = send_bytes(s, early.buf, early.len);
    int under_way = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    if (n < 0 && !under_way) {
        PyBuffer_Release(&early);
        refused(s);
        return (PyObject *)s;
    }
    if (n < 0)
        n = 0;
    /* The rest goes out when the socket can take it (for a connect under way: once it is up). */
    int kept = n < early.len ? buffer_append(s, (const char *)early.buf + n, early.len - n) : 0;
    if (kept == 0 && (under_way || n < early.len))
        kept = watch_writes(s); /* the connect's end, or room for the rest, is an EPOLLOUT */
    PyBuffer_Release(&early);
    if (kept < 0) {
        abandon(s);
        Py_DECREF(s);
        return NULL;
    }
    if (!under_way)
        connected(s);
    return (PyObject *)s;
}

static PyObject *
Poller_poll(Poller *p, PyObject *Py_UNUSED(ignored))
{
    struct epoll_event events[MAX_EVENTS];
    if (p->epfd < 0)
        Py_RETURN_NONE;
    int n = epoll_wait(p->epfd, events, MAX_EVENTS, 0);
    if (n < 0) {
        if (errno == EINTR)
            Py_RETURN_NONE;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    /* Held through the batch: a callback may end a stream whose event comes later in it. */
    for (int i = 0; i < n; i++)
        Py_INCREF((PyObject *)events[i].data.ptr);
    for (int i = 0; i < n; i++)
        handle((Stream *)events[i].data.ptr, events[i].events);
    for (int i = 0; i < n; i++)
        Py_DECREF((PyObject *)events[i].data.ptr);
    Py_RETURN_NONE;
}

static PyObject *
Poller_fileno(Poller *p, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLong(p->epfd);
}

static PyObject *
Poller_close(Poller *p, PyObject *Py_UNUSED(ignored))
{
    if (p->epfd >= 0) {
        close(p->epfd);
        p->epfd = -1;
    }
    Py_RETURN_NONE;
}

static PyMethodDef Poller_methods[] = {
    {"connect", (PyCFunction)(void (*)(void))Poller_connect, METH_FASTCALL,
     "connect(host, port, protocol, waiter, early=b'') -> Stream: start a connection whose "
     "first bytes are ``early``; waiter.connected(protocol) follows connection_made, "
     "waiter.connect_failed() means a refusal (nothing was sent); either perhaps at once."},
    {"poll", (PyCFunction)Poller_poll, METH_NOARGS, "Handle what the sockets have to say now."},
    {"fileno", (PyCFunction)Poller_fileno, METH_NOARGS, "The epoll set, for loop.add_reader."},
    {"close", (PyCFunction)Poller_close, METH_NOARGS, "Close the epoll set."},
    {NULL},
};

static PyTypeObject PollerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "twelve.router._streams.Poller",
    .tp_basicsize = sizeof(Poller),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Poller(loop): one epoll set of backend connections, watched by the loop.",
    .tp_new = Poller_new,
    .tp_init = (initproc)Poller_init,
    .tp_dealloc = (destructor)Poller_dealloc,
    .tp_traverse = (traverseproc)Poller_traverse,
    .tp_clear = (inquiry)Poller_clear,
    .tp_methods = Poller_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "_streams",
    "Connections to web processes on one epoll set, without asyncio transports.",
    -1,
    NULL,
};

PyMODINIT_FUNC
PyInit__streams(void)
{
    if (PyType_Ready(&StreamType) < 0 || PyType_Ready(&PollerType) < 0)
        return NULL;
    struct {
        PyObject **slot;
        const char *name;
    } names[] = {
        {&s_connection_made, "connection_made"},
        {&s_connected, "connected"},
        {&s_connect_failed, "connect_failed"},
        {&s_data_received, "data_received"},
        {&s_eof_received, "eof_received"},
        {&s_connection_lost, "connection_lost"},
        {&s_pause_writing, "pause_writing"},
        {&s_resume_writing, "resume_writing"},
        {&s_call_exception_handler, "call_exception_handler"},
        {&s_lost_method, "_connection_lost"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (*names[i].slot == NULL && (*names[i].slot = PyUnicode_InternFromString(names[i].name)) == NULL)
            return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Stream", (PyObject *)&StreamType) < 0 ||
        PyModule_AddObjectRef(m, "Poller", (PyObject *)&PollerType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
