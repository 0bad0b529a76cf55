# Writes a binary file as a C array, so a program can carry it:
#   cmake -DIN=<file> -DOUT=<file.c> -DNAME=<symbol> -P EmbedFile.cmake
# defines `const unsigned char NAME[]` and `const size_t NAME_size`.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" len)
math(EXPR size "${len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n"
  bytes "${bytes}")
file(WRITE "${OUT}.tmp" "/* Generated from ${IN} by cmake/EmbedFile.cmake; do not edit. */\n"
  "#include <stddef.h>\n\n"
  "const unsigned char ${NAME}[] __attribute__((aligned(16))) = {\n${bytes}\n};\n"
  "const size_t ${NAME}_size = ${size};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
