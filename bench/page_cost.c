// What a new page costs here: touches 200 MiB of anonymous memory, one write per 4 KiB page,
// with 4 KiB pages (argument 0) or with MADV_HUGEPAGE (1), and prints the time per 4 KiB and
// how much became huge pages. BENCHMARKS.md, "What this machine charges".
//   gcc -O2 -o /tmp/page_cost bench/page_cost.c && for i in 1 2 3; do /tmp/page_cost 0; /tmp/page_cost 1; done
#include <sys/mman.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
#include <stdlib.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){
  size_t n=200UL<<20; int huge=atoi(argv[1]);
  char*p=mmap(0,n+(4<<20),PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
  char*a=(char*)(((unsigned long)p+(2<<20)-1)&~((2UL<<20)-1));
  if(huge) madvise(a,n,MADV_HUGEPAGE);
  double t=now(); for(size_t i=0;i<n;i+=4096)a[i]=1; double dt=now()-t;
  FILE*f=fopen("/proc/self/smaps_rollup","r");char l[256];long ah=0;while(fgets(l,256,f))if(!strncmp(l,"AnonHugePages",13))ah=atol(l+14);
  printf("%s %.0f ms, %.2f us/4KiB, AnonHuge %ld kB\n",huge?"huge":"4k  ",dt*1e3,dt/(n/4096)*1e6,ah);
}
