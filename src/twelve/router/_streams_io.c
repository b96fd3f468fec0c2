/* The bytes of a stream both ways: sends with a buffer for what the socket refuses and the
 * protocol's flow control, reads on each epoll event, and the dispatch of those events. */
#include "_streams.h"

/* ---- writing ---- */

/* Every send of a stream's bytes: the first goes as it is (nothing is in flight for Nagle to
 * wait on), any later one with TCP_NODELAY set. */
ssize_t
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

int
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
int
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

int
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

PyObject *
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

void
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
