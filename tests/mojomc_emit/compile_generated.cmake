# Compiles generated code the strict way (see CMakeLists.txt).
#   cmake -DCC=<c compiler> [-DCXX=<c++ compiler>] -DDIRS=<dir>|<dir>...
#         -DINCLUDE=<cmojo include dir> -DWORK_DIR=<dir>
#         [-DMOJOMC=<exe> [-DFRONT_END_DIR=<dir>] [-DMOJOM_TREES=<dir>|...]]
#         -P compile_generated.cmake
# Every .c under each of DIRS is compiled as C99 and C11 with -pedantic and
# -Werror; one C++ file including every header is compiled as C++11.
foreach(var CC DIRS INCLUDE WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "compile_generated.cmake: ${var} is not set")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
string(REPLACE "|" ";" dirs "${DIRS}")
set(warnings -Wall -Wextra -Werror -pedantic)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status STREQUAL "0")
    message(FATAL_ERROR "failed (${status}): ${ARGN}\n${out}${err}")
  endif()
endfunction()

# Optionally also the front end's golden inputs (FRONT_END_DIR, imports in
# its include/), each with the arguments of its "// mojomc-args:" line.
# Inputs the emitter refuses by design ([Native] structs) are skipped.
if(DEFINED MOJOMC AND DEFINED FRONT_END_DIR)
  set(out ${WORK_DIR}/front_end)
  file(GLOB deps ${FRONT_END_DIR}/include/*.mojom)
  file(GLOB inputs ${FRONT_END_DIR}/*.mojom)
  foreach(input ${inputs})
    file(STRINGS ${input} first LIMIT_COUNT 1)
    set(more "")
    if(first MATCHES "^// mojomc-args: (.*)$")
      separate_arguments(more UNIX_COMMAND "${CMAKE_MATCH_1}")
    endif()
    execute_process(COMMAND ${MOJOMC} -I ${FRONT_END_DIR}/include ${more} -o ${out} ${input}
                            ${deps}
                    RESULT_VARIABLE status ERROR_VARIABLE err)
    if(NOT status STREQUAL "0" AND err MATCHES "the C emitter cannot")
      message(STATUS "skipped ${input}: ${err}")
    elseif(NOT status STREQUAL "0")
      message(FATAL_ERROR "mojomc failed on ${input}:\n${err}")
    endif()
  endforeach()
  list(APPEND dirs ${out})
endif()

# Optionally whole trees of real mojom files (MOJOM_TREES=<dir>|<dir>...),
# each compiled in one run with -I <dir>.
if(DEFINED MOJOMC AND DEFINED MOJOM_TREES)
  string(REPLACE "|" ";" trees "${MOJOM_TREES}")
  set(index 0)
  foreach(tree ${trees})
    file(GLOB_RECURSE inputs ${tree}/*.mojom)
    list(SORT inputs)
    set(out ${WORK_DIR}/tree${index})
    math(EXPR index "${index} + 1")
    run(${MOJOMC} -I ${tree} -o ${out} ${inputs})
    list(APPEND dirs ${out})
  endforeach()
endif()
set(warnings -Wall -Wextra -Werror -pedantic)


set(cxx_source "")
set(count 0)
foreach(dir ${dirs})
  file(GLOB_RECURSE sources ${dir}/*.c)
  file(GLOB_RECURSE headers RELATIVE ${dir} ${dir}/*.h)
  if(NOT sources)
    message(FATAL_ERROR "no generated sources under ${dir} (build the tests first)")
  endif()
  foreach(src ${sources})
    foreach(std c99 c11)
      run(${CC} -std=${std} ${warnings} -Wmissing-prototypes -Wstrict-prototypes -Wshadow
          -I ${dir} -I ${INCLUDE} -c ${src} -o ${WORK_DIR}/out.o)
    endforeach()
    math(EXPR count "${count} + 1")
  endforeach()
  list(SORT headers)
  foreach(h ${headers})
    string(APPEND cxx_source "#include \"${h}\"\n")
  endforeach()
  list(APPEND include_flags -I ${dir})
endforeach()
message(STATUS "compiled ${count} generated sources as C99 and C11")

if(CXX)
  file(WRITE ${WORK_DIR}/headers.cc "${cxx_source}int main() { return 0; }\n")
  run(${CXX} -std=c++11 ${warnings} ${include_flags} -I ${INCLUDE} -c ${WORK_DIR}/headers.cc
      -o ${WORK_DIR}/headers.o)
  message(STATUS "compiled the generated headers as C++11")
else()
  message(STATUS "no C++ compiler: headers not checked as C++")
endif()
