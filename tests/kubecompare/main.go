// kubecompare prints what the real Kubernetes and VPA Go code compute for the cases in a JSON file, so
// spotfit's C++ arithmetic can be compared with it case by case (tests/kubecompare/kubecompare_test.cpp).
//
//	kubecompare CASES.json > ANSWERS.json
//
// Pods: component-helpers resource.PodRequests (what kube-scheduler's NodeResourcesFit uses), read the
// way the scheduler reads it: cpu with MilliValue, everything else with Value.
// VPA: the admission controller's path for a pod (capping recommendation processor with the VPA's
// resource policy, then GetContainersResources with limit scaling), applied to the pod's containers as
// its patch would: the requests and limits each container ends up with, as Quantity strings.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	vpa_types "k8s.io/autoscaler/vertical-pod-autoscaler/pkg/apis/autoscaling.k8s.io/v1"
	"k8s.io/autoscaler/vertical-pod-autoscaler/pkg/admission-controller/resource/pod/recommendation"
	"k8s.io/autoscaler/vertical-pod-autoscaler/pkg/utils/limitrange"
	vpa_api_util "k8s.io/autoscaler/vertical-pod-autoscaler/pkg/utils/vpa"
	resourcehelper "k8s.io/component-helpers/resource"
)

type podCase struct {
	Name string     `json:"name"`
	Pod  corev1.Pod `json:"pod"`
}

type vpaCase struct {
	Name string                          `json:"name"`
	Pod  corev1.Pod                      `json:"pod"`
	VPA  vpa_types.VerticalPodAutoscaler `json:"vpa"`
}

type cases struct {
	Pods []podCase `json:"pods"`
	VPAs []vpaCase `json:"vpas"`
}

type podAnswer struct {
	Name     string           `json:"name"`
	Requests map[string]int64 `json:"requests"`
}

type containerAnswer struct {
	Name     string            `json:"name"`
	Requests map[string]string `json:"requests"`
	Limits   map[string]string `json:"limits"`
}

type vpaAnswer struct {
	Name       string            `json:"name"`
	Containers []containerAnswer `json:"containers"`
}

type answers struct {
	Pods []podAnswer `json:"pods"`
	VPAs []vpaAnswer `json:"vpas"`
}

func podRequests(pod *corev1.Pod) map[string]int64 {
	out := map[string]int64{}
	for name, q := range resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}) {
		if name == corev1.ResourceCPU {
			out[string(name)] = q.MilliValue()
		} else {
			out[string(name)] = q.Value()
		}
	}
	return out
}

func strings(list corev1.ResourceList) map[string]string {
	out := map[string]string{}
	for name, q := range list {
		out[string(name)] = q.String()
	}
	return out
}

func vpaResult(pod *corev1.Pod, vpa *vpa_types.VerticalPodAutoscaler) ([]containerAnswer, error) {
	processor := vpa_api_util.NewCappingRecommendationProcessor(limitrange.NewNoopLimitsCalculator())
	recommended, annotations, err := processor.Apply(vpa, pod)
	if err != nil {
		return nil, err
	}
	if annotations == nil {
		annotations = vpa_api_util.ContainerToAnnotationsMap{}
	}
	var resources []vpa_api_util.ContainerResources
	if recommended != nil {
		resources = recommendation.GetContainersResources(pod, vpa.Spec.ResourcePolicy, *recommended, nil, false, annotations)
	}
	var out []containerAnswer
	for i, c := range pod.Spec.Containers {
		requests := c.Resources.Requests.DeepCopy()
		limits := c.Resources.Limits.DeepCopy()
		if requests == nil {
			requests = corev1.ResourceList{}
		}
		if limits == nil {
			limits = corev1.ResourceList{}
		}
		if i < len(resources) {
			for name, q := range resources[i].Requests {
				requests[name] = q
			}
			for name, q := range resources[i].Limits {
				limits[name] = q
			}
		}
		out = append(out, containerAnswer{Name: c.Name, Requests: strings(requests), Limits: strings(limits)})
	}
	return out, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kubecompare CASES.json")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubecompare:", err)
		os.Exit(1)
	}
	var in cases
	if err := json.Unmarshal(data, &in); err != nil {
		fmt.Fprintln(os.Stderr, "kubecompare: cases:", err)
		os.Exit(1)
	}
	var out answers
	for i := range in.Pods {
		c := &in.Pods[i]
		out.Pods = append(out.Pods, podAnswer{Name: c.Name, Requests: podRequests(&c.Pod)})
	}
	for i := range in.VPAs {
		c := &in.VPAs[i]
		containers, err := vpaResult(&c.Pod, &c.VPA)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kubecompare: vpa case %s: %v\n", c.Name, err)
			os.Exit(1)
		}
		out.VPAs = append(out.VPAs, vpaAnswer{Name: c.Name, Containers: containers})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "kubecompare:", err)
		os.Exit(1)
	}
}
