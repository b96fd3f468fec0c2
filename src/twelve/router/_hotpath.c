/* The byte work the router does for every request, in C: the access line and the upstream head,
 * each written straight into one buffer, two scans of what the client sent and one of what the
 * app answered.
 *
 * Built with the compiled router (twelve.router.native); hotpath.py holds the same functions in
 * Python, which run when this module is not built, and the tests hold both to the same results.
 * Done with bytes %, join and bytes methods, these were the largest costs the proxy itself added
 * to a request: each piece became an object, each number went through the generic int formatter,
 * each method call was looked up by name.
 */
#include "_hotpath.h"

PyDoc_STRVAR(access_line_doc,
             "access_line(app_json, at, method, path, host, request_id, fwd, dyno, connect_ms, "
             "service_ms, status, nbytes)\n--\n\n"
             "One access line as JSON, ending in a newline (see hotpath.access_line_py).");

PyDoc_STRVAR(upstream_head_doc,
             "upstream_head(parts, forwarded, host, request_id, start_ms, tail)\n--\n\n"
             "The request head sent to the backend (see hotpath.upstream_head_py).");

PyDoc_STRVAR(line_version_doc,
             "line_version(data)\n--\n\n"
             "The version of the request line data starts with (see hotpath.line_version_py).");

PyDoc_STRVAR(header_table_doc,
             "header_table(kinds)\n--\n\n"
             "kinds (lowercase header name: kind) in the form header_kind reads.");

PyDoc_STRVAR(header_kind_doc,
             "header_kind(name, table, default)\n--\n\n"
             "What the header_table says of a header name, whatever its case, else default.");

PyDoc_STRVAR(plain_response_doc,
             "plain_response(data)\n--\n\n"
             "(status, where the response ends) of a plain HTTP/1.0 or HTTP/1.1 response that "
             "data starts with, or None (see hotpath.plain_response_py).");

static PyMethodDef methods[] = {
    {"plain_response", (PyCFunction)plain_response, METH_O, plain_response_doc},
    {"line_version", (PyCFunction)line_version, METH_O, line_version_doc},
    {"header_table", (PyCFunction)header_table, METH_O, header_table_doc},
    {"header_kind", (PyCFunction)(void (*)(void))header_kind, METH_FASTCALL, header_kind_doc},
    {"access_line", (PyCFunction)(void (*)(void))access_line, METH_FASTCALL, access_line_doc},
    {"upstream_head", (PyCFunction)(void (*)(void))upstream_head, METH_FASTCALL,
     upstream_head_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "twelve.router._hotpath",
    "The router's per-request byte work in C (the compiled build of hotpath.py).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__hotpath(void)
{
    if (PyType_Ready(&HeaderTableType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m != NULL && PyModule_AddObjectRef(m, "HeaderTable", (PyObject *)&HeaderTableType) < 0)
        Py_CLEAR(m);
    return m;
}
