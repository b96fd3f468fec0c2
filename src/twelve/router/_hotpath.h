/* What the files of the _hotpath module share: byte ranges, argument checks, and the functions
 * the module exposes. Internal to the module. */
#ifndef TWELVE_HOTPATH_H
#define TWELVE_HOTPATH_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* MAX_LOGGED and RESPONSE_HOP_BY_HOP, written from twelve/router/constants.py by the build. */
#include "_constants.h"

typedef struct {
    const char *data;
    Py_ssize_t size;
} piece;

static inline int
bytes_arg(PyObject *obj, const char *name, piece *out)
{
    if (!PyBytes_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be bytes, not %.100s", name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    out->data = PyBytes_AS_STRING(obj);
    out->size = PyBytes_GET_SIZE(obj);
    return 0;
}

static inline int
int_arg(PyObject *obj, const char *name, long long *out)
{
    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be int, not %.100s", name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    /* PyLong_AsLongAndOverflow reads a timestamp's digits directly; PyLong_AsLongLong takes a
     * slower, general path for any int past one digit. */
    int overflow = 0;
    long value = PyLong_AsLongAndOverflow(obj, &overflow);
    if (overflow == 0) {
        *out = value;
        return (value == -1 && PyErr_Occurred()) ? -1 : 0;
    }
    *out = PyLong_AsLongLong(obj);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

#pragma GCC visibility push(hidden)

extern PyTypeObject HeaderTableType;

/* _hotpath_write.c: the bytes the router writes. */
PyObject *access_line(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *upstream_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* _hotpath_scan.c: the bytes the router reads. */
PyObject *line_version(PyObject *module, PyObject *data);
PyObject *header_table(PyObject *module, PyObject *kinds);
PyObject *header_kind(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *plain_response(PyObject *module, PyObject *data);

#pragma GCC visibility pop

#endif
