/* A stream's start and end: errors raised from protocol code, the connect's outcome, and every
 * way a connection closes and its protocol is told. */
#include "_streams.h"

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

void
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
void
reset_on_close(Stream *s)
{
    if (s->wstart == s->wend) {
        struct linger now = {.l_onoff = 1, .l_linger = 0};
        setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
    }
}

/* Whether the app's FIN is in: said by the last event, else by a read that would not wait. */
int
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

void
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
void
end_now(Stream *s, PyObject *exc)
{
    close_socket(s);
    call_lost_now(s, exc);
    unregister(s);
}

/* Close and tell the protocol later, never from inside the close itself, as asyncio transports
 * do: the caller may be the protocol. Closed from a callback of the poller's own turn (a response
 * complete, say), it is told as that callback returns; else in the loop's next turn. */
void
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
void
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

void
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
void
abandon(Stream *s)
{
    drop_callbacks(s);
    close_socket(s);
    Py_CLEAR(s->protocol);
    unregister(s);
}

void
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
