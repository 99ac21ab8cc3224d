# python2.7-pep445(1): CPython's Misc/python.man (as the series in
# patches/2.7 leaves it) for the interpreter's name and place in Debian.
s/^\.TH PYTHON "1"$/.TH PYTHON2.7-PEP445 1/
/^\.SH NAME$/{n;s/^python \\-/python2.7-pep445 \\-/;}
s/^\.B python$/.B python2.7-pep445/
/^\.SH DESCRIPTION$/a\
.B python2.7-pep445\
is CPython 2.7.18 with the memory allocator API of PEP 445, the\
.B \\-X tracemalloc\
option and the PYTHONMALLOC and PYTHONTRACEMALLOC variables described\
below.  It lives in\
.IR /usr/lib/python2.7-pep445 ,\
next to and independent of Debian's\
.BR python2.7 (1);\
the tracemalloc module comes with the python2.7-tracemalloc package.\
.PP
/^\.B pydoc$/{s//.B python2.7-pep445 \\-m pydoc/;n;s/^program\./command./;}
/^These are subject to difference/,/^The default for both is/c\
${prefix} and ${exec_prefix} are both\
.IR /usr/lib/python2.7-pep445 .
/^\.SH AUTHOR$/i\
.IP PEP445_DIST_PACKAGES\
If this is set to 1 (and the \\fB\\-E\\fP and \\fB\\-S\\fP options are not\
given), the modules installed for Debian's python2.7 in\
\\fI/usr/lib/python2.7/dist-packages\\fP are importable too, after\
everything else on the search path, including their C extensions\
(named \\fINAME.<multiarch triplet>.so\\fP there).
