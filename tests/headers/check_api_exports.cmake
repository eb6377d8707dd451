# ctest script: the public headers and libcmojo.so's dynamic symbol table
# must agree. Every function the headers declare (Mojo* and cmojo_*) must be
# a defined, exported function of the library, so that a declared but
# unimplemented function fails here rather than at a user's link; and every
# symbol the library exports must be named in the headers, so that nothing
# internal leaks into the ABI.
# Inputs: BUILD_DIR, TARGET (the library's target, built first), LIBRARY (its
# file), NM, CC (a C compiler, used only to preprocess), INCLUDE_DIR.

execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
                RESULT_VARIABLE rv)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "building ${TARGET} failed")
endif()

# Preprocess all public headers at once: that drops comments (which name
# functions in prose) and macro bodies, and leaves declarations only.
file(GLOB_RECURSE headers RELATIVE ${INCLUDE_DIR}
     ${INCLUDE_DIR}/mojo/public/c/system/*.h ${INCLUDE_DIR}/cmojo/*.h)
list(SORT headers)
set(unit "")
foreach(h ${headers})
  string(APPEND unit "#include \"${h}\"\n")
endforeach()
set(unit_file ${BUILD_DIR}/cm_api_exports_unit.c)
file(WRITE ${unit_file} "${unit}")
execute_process(COMMAND ${CC} -E -P -I${INCLUDE_DIR} ${unit_file}
                OUTPUT_VARIABLE declarations RESULT_VARIABLE rv)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "preprocessing the public headers failed")
endif()

# A function declaration is a public name followed by "(". A function pointer
# typedef or field is written "(*name)(" and so never matches; the return
# type in front of one ("MojoResult (*f)(") does, and is dropped below.
string(REGEX MATCHALL "[A-Za-z0-9_]+[ \t\r\n]*\\([ \t\r\n]*[*]?" calls "${declarations}")
set(functions "")
foreach(call ${calls})
  if(call MATCHES "\\*$")
    continue()
  endif()
  string(REGEX MATCH "^[A-Za-z0-9_]+" name "${call}")
  if(name MATCHES "^(Mojo[A-Z]|cmojo_)")
    list(APPEND functions ${name})
  endif()
endforeach()
list(REMOVE_DUPLICATES functions)
list(LENGTH functions num_functions)
if(num_functions LESS 40)
  message(FATAL_ERROR "found only ${num_functions} functions in the public headers; "
                      "the declaration parser is broken:\n${functions}")
endif()

execute_process(COMMAND ${NM} -D --defined-only ${LIBRARY}
                OUTPUT_VARIABLE symbols RESULT_VARIABLE rv)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIBRARY}")
endif()

set(missing "")
foreach(name ${functions})
  if(NOT symbols MATCHES "[ \t][Ti][ \t]+${name}\n")
    list(APPEND missing ${name})
  endif()
endforeach()
if(missing)
  string(REPLACE ";" "\n  " missing "${missing}")
  message(FATAL_ERROR "declared in the public headers but not exported by "
                      "${LIBRARY}:\n  ${missing}")
endif()

# The reverse direction. Names the toolchain adds on its own start with "_".
string(REGEX MATCHALL "[^\n]+" lines "${symbols}")
set(unexpected "")
foreach(line ${lines})
  if(NOT line MATCHES "^[0-9a-fA-F]* *[A-Za-z] +([^ ]+)$")
    continue()
  endif()
  set(name ${CMAKE_MATCH_1})
  string(REGEX REPLACE "@.*" "" name "${name}")
  if(name MATCHES "^_")
    continue()
  endif()
  if(NOT declarations MATCHES "(^|[^A-Za-z0-9_])${name}([^A-Za-z0-9_]|$)")
    list(APPEND unexpected ${name})
  endif()
endforeach()
if(unexpected)
  string(REPLACE ";" "\n  " unexpected "${unexpected}")
  message(FATAL_ERROR "exported by ${LIBRARY} but not declared in any public "
                      "header:\n  ${unexpected}")
endif()
message(STATUS "${num_functions} public functions, all exported")
