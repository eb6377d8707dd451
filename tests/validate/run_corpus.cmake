# Driver of cmojo_validate_corpus (see CMakeLists.txt).
#   cmake -DVALIDATE=<exe> -DCORPUS=<dir> -DMOJOM_DIR=<dir> -P run_corpus.cmake
foreach(var VALIDATE CORPUS MOJOM_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_corpus.cmake: ${var} is not set")
  endif()
endforeach()

set(main ${MOJOM_DIR}/validation_test_interfaces.mojom)
set(assoc ${MOJOM_DIR}/validation_test_associated_interfaces.mojom)
# prefix | mojom | interface | extra argument; longest prefixes first.
set(routes
    "associated_conformance_|${assoc}|AssociatedConformanceTestInterface|"
    "resp_conformance_|${main}|ConformanceTestInterface|--response"
    "resp_boundscheck_|${main}|BoundsCheckTestInterface|--response"
    "conformance_|${main}|ConformanceTestInterface|"
    "boundscheck_|${main}|BoundsCheckTestInterface|"
    "integration_intf_rqst|${main}|IntegrationTestInterface|"
    "integration_intf_resp|${main}|IntegrationTestInterface|--response"
    "integration_msghdr|${main}|IntegrationTestInterface|")

file(GLOB vectors ${CORPUS}/*.data)
list(LENGTH vectors total)
if(NOT total EQUAL 120)
  message(FATAL_ERROR "expected 120 vectors in ${CORPUS}, found ${total}")
endif()
set(mismatches 0)
set(passes 0)
foreach(data ${vectors})
  get_filename_component(name ${data} NAME_WE)
  set(route "")
  foreach(r ${routes})
    string(REPLACE "|" ";" fields "${r}")
    list(GET fields 0 prefix)
    string(FIND "${name}" "${prefix}" at)
    if(at EQUAL 0)
      set(route "${fields}")
      break()
    endif()
  endforeach()
  if(NOT route)
    message(FATAL_ERROR "no route for ${name}")
  endif()
  list(GET route 1 mojom)
  list(GET route 2 iface)
  list(LENGTH route n)
  set(extra "")
  if(n GREATER 3)
    list(GET route 3 extra)
  endif()
  execute_process(COMMAND ${VALIDATE} --mojom ${mojom} -I ${MOJOM_DIR} --interface ${iface}
                          ${extra} ${data}
                  OUTPUT_VARIABLE got ERROR_VARIABLE err RESULT_VARIABLE status
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  file(READ ${CORPUS}/${name}.expected want)
  string(STRIP "${want}" want)
  if(status GREATER 1 OR NOT got STREQUAL want)
    message(SEND_ERROR "${name}: expected ${want}, got '${got}' (exit ${status}) ${err}")
    math(EXPR mismatches "${mismatches} + 1")
  elseif(got STREQUAL "PASS")
    math(EXPR passes "${passes} + 1")
  endif()
endforeach()
message(STATUS "${total} vectors, ${mismatches} mismatches, ${passes} PASS")
if(mismatches GREATER 0 OR NOT passes EQUAL 38)
  message(FATAL_ERROR "cmojo-validate disagrees with the corpus")
endif()

# Raw bytes: a BoundsCheckTestInterface.Method1(7) request, header v0.
find_program(PRINTF printf)
if(PRINTF)
  set(raw ${CMAKE_CURRENT_BINARY_DIR}/method1.bin)
  string(REPEAT "\\x00" 3 z3)
  execute_process(COMMAND ${PRINTF}
                  "\\x18${z3}${z3}\\x00${z3}\\x00\\x01${z3}${z3}\\x00${z3}\\x00\\x10${z3}${z3}\\x00\\x07${z3}\\x00${z3}"
                  OUTPUT_FILE ${raw})
  file(SIZE ${raw} size)
  foreach(direction request response)
    set(flag "")
    set(want PASS)
    if(direction STREQUAL "response")
      set(flag --response)
      set(want VALIDATION_ERROR_MESSAGE_HEADER_UNKNOWN_METHOD)
    endif()
    execute_process(COMMAND ${VALIDATE} --mojom ${main} --interface mojo.test.BoundsCheckTestInterface
                            ${flag} --raw ${raw}
                    OUTPUT_VARIABLE got OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT size EQUAL 40 OR NOT got STREQUAL want)
      message(FATAL_ERROR "raw ${direction} (${size} bytes): expected ${want}, got '${got}'")
    endif()
  endforeach()
  message(STATUS "raw messages judged as expected")
endif()
