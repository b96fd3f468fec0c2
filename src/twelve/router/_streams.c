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
#include "_streams.h"

/* Method names, interned once at import. */
PyObject *s_connection_made, *s_data_received, *s_eof_received, *s_connection_lost,
    *s_pause_writing, *s_resume_writing, *s_call_exception_handler, *s_lost_method, *s_connected,
    *s_connect_failed;

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