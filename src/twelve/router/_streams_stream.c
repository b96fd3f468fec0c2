/* The Stream type: the part of asyncio.Transport the router's protocols call. */
#include "_streams.h"

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

PyTypeObject StreamType = {
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
