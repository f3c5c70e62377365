package main

func int80(trap, a1, a2, a3 uintptr) (r uintptr)
