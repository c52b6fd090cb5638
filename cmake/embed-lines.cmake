# embed-lines.cmake: turn a list file (one entry a line, '#' comments) into
# a C source holding the entries as one '\n'-separated string.
#   cmake -DIN=list.txt -DOUT=list.c -DSYMBOL=name -P embed-lines.cmake
file(STRINGS "${IN}" lines)
set(body "")
foreach(line IN LISTS lines)
  string(STRIP "${line}" line)
  if(line STREQUAL "" OR line MATCHES "^#")
    continue()
  endif()
  string(REPLACE "\\" "\\\\" line "${line}")
  string(REPLACE "\"" "\\\"" line "${line}")
  string(APPEND body "\t\"${line}\\n\"\n")
endforeach()
file(WRITE "${OUT}.tmp"
  "/* Generated from ${IN} by cmake/embed-lines.cmake; do not edit. */\n"
  "extern const char ${SYMBOL}[];\n"
  "const char ${SYMBOL}[] =\n${body}\t\"\";\n")
file(RENAME "${OUT}.tmp" "${OUT}")
